package latency

import (
	"bytes"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	var h Hist
	for us := int64(0); us < 1_000_000; us += 7 {
		b := bucket(us)
		if upper(b) < us || (b > 0 && upper(b-1) >= us) {
			t.Fatalf("%dus in bucket %d [%d, %d]", us, b, upper(b-1)+1, upper(b))
		}
		h.Record(time.Duration(us) * time.Microsecond)
	}
	if q := h.Quantile(0.5); q < 470*time.Millisecond || q > 530*time.Millisecond {
		t.Errorf("median %v, want about 500ms", q)
	}
	var sum Hist
	sum.Add(&h)
	sum.Add(&h)
	if sum.Count() != 2*h.Count() {
		t.Errorf("count %d after adding twice %d", sum.Count(), h.Count())
	}
}

func TestPrint(t *testing.T) {
	var h Hist
	h.Record(3 * time.Millisecond)
	var b bytes.Buffer
	h.Print(&b, "x")
	if want := "x/p50 3.07 ms\nx/p99 3.07 ms\nx/max 3.07 ms\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
