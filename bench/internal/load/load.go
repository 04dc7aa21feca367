// Package load is what the bench load tools share: the N:R points they
// measure, the measuring window, and the paced sending of messages that
// carry their send time.
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Point is one load: N clients each sending Rate messages a second.
type Point struct {
	N    int
	Rate float64
}

// ParsePoints reads comma-separated "N:R" points, such as "10:10,1000:1".
func ParsePoints(s string) ([]Point, error) {
	var points []Point
	for _, p := range strings.Split(s, ",") {
		ns, rs, ok := strings.Cut(p, ":")
		n, err1 := strconv.Atoi(ns)
		r, err2 := strconv.ParseFloat(rs, 64)
		if !ok || err1 != nil || err2 != nil || n < 1 || !(r > 0) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("bad -load point %q", p)
		}
		points = append(points, Point{n, r})
	}
	return points, nil
}

// Window is the measuring window, in Unix nanoseconds; it is empty
// until Set.
type Window struct{ from, to atomic.Int64 }

// NewWindow returns an empty window.
func NewWindow() *Window {
	w := new(Window)
	w.from.Store(math.MaxInt64)
	return w
}

// Set makes the window [from, to).
func (w *Window) Set(from, to time.Time) {
	w.from.Store(from.UnixNano())
	w.to.Store(to.UnixNano())
}

// In reports whether t, in Unix nanoseconds, is in the window.
func (w *Window) In(t int64) bool { return t >= w.from.Load() && t < w.to.Load() }

// Pace calls send rate times a second, from a random phase, until stop is
// closed or send returns false, keeping to the schedule without bunching
// up after a delay. Each message is "t" and the send time in Unix
// nanoseconds, padded with dots to size bytes; send must not keep it.
// The messages sent in w are counted in sent.
func Pace(rate float64, size int, w *Window, stop <-chan struct{}, sent *atomic.Int64, send func(now time.Time, msg []byte) bool) {
	every := time.Duration(float64(time.Second) / rate)
	phase := time.Duration(rand.Int64N(int64(max(every, 1))))
	t := time.NewTimer(phase)
	defer t.Stop()
	next := time.Now().Add(phase)
	msg := make([]byte, 0, size)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now()
		msg = append(msg[:0], 't')
		msg = strconv.AppendInt(msg, now.UnixNano(), 10)
		for len(msg) < size {
			msg = append(msg, '.')
		}
		if !send(now, msg) {
			return
		}
		if w.In(now.UnixNano()) {
			sent.Add(1)
		}
		next = next.Add(every)
		if d := time.Until(next); d > 0 {
			t.Reset(d)
		} else {
			next = time.Now()
			t.Reset(0)
		}
	}
}

// SentAt returns the send time, in Unix nanoseconds, of a message Pace
// made, and false if b is not one.
func SentAt(b []byte) (int64, bool) {
	if len(b) < 2 || b[0] != 't' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	var sent int64
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			break
		}
		sent = sent*10 + int64(c-'0')
	}
	return sent, true
}

// Dial calls dial for clients 0 to n-1, at most 50 at once, and returns
// them in order. If any fails, it closes the others with close and
// returns the errors.
func Dial[T any](n int, dial func(i int) (T, error), close func(T)) ([]T, error) {
	out := make([]T, n)
	ok := make([]bool, n)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[i], ok[i] = c, true
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		for i, c := range out {
			if ok[i] {
				close(c)
			}
		}
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Sleep waits for d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
