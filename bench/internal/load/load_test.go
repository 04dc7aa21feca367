package load

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePoints(t *testing.T) {
	got, err := ParsePoints("10:10,1000:0.5")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Point{{10, 10}, {1000, 0.5}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "x", "10", "10:0", "0:1", "10:-1", "10:NaN", "10:Inf", "10:1,"} {
		if _, err := ParsePoints(bad); err == nil {
			t.Errorf("ParsePoints(%q) accepted", bad)
		}
	}
}

func TestPace(t *testing.T) {
	w := NewWindow()
	start := time.Now()
	w.Set(start, start.Add(time.Hour))
	stop := make(chan struct{})
	var sent atomic.Int64
	var msgs [][]byte
	Pace(1000, 32, w, stop, &sent, func(now time.Time, msg []byte) bool {
		msgs = append(msgs, append([]byte(nil), msg...))
		return len(msgs) < 5
	})
	if len(msgs) != 5 || sent.Load() != 4 {
		t.Fatalf("%d messages, %d counted", len(msgs), sent.Load())
	}
	for _, m := range msgs {
		at, ok := SentAt(m)
		if len(m) != 32 || !ok || at < start.UnixNano() {
			t.Errorf("message %q: sent at %d, ok %v", m, at, ok)
		}
	}
	if _, ok := SentAt([]byte("hello")); ok {
		t.Error("SentAt of a message Pace did not make")
	}
}

func TestDial(t *testing.T) {
	got, err := Dial(100, func(i int) (int, error) { return i * 2, nil }, func(int) { t.Error("closed") })
	if err != nil || len(got) != 100 || got[99] != 198 {
		t.Fatalf("Dial: %v %v", got, err)
	}
	closed := 0
	_, err = Dial(10, func(i int) (int, error) {
		if i == 3 {
			return 0, errors.New("no")
		}
		return i, nil
	}, func(int) { closed++ })
	if err == nil || closed != 9 {
		t.Errorf("Dial with a failure: %v, %d closed", err, closed)
	}
}
