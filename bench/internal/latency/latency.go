// Package latency is the latency histogram of the bench load tools:
// buckets a sixteenth of a power of two wide (about 6% precision), in
// microseconds, so that a tool can keep one per client and add them up.
package latency

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"time"
)

// Hist counts latencies; the zero value is empty.
type Hist [64 * 16]int64

// bucket returns the bucket of us microseconds.
func bucket(us int64) int {
	if us < 16 {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 5 // us has e+5 bits; keep the top 5
	return (e+1)*16 + int(us>>e) - 16
}

// upper returns the largest value of bucket i, in microseconds.
func upper(i int) int64 {
	if i < 16 {
		return int64(i)
	}
	e := i/16 - 1
	return (int64(i%16+16)+1)<<e - 1
}

// Record counts one latency of d.
func (h *Hist) Record(d time.Duration) { h[bucket(d.Microseconds())]++ }

// Add adds the counts of o to h.
func (h *Hist) Add(o *Hist) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count returns the number of latencies counted.
func (h *Hist) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns the upper bound of the bucket holding quantile q
// (0.5 for the median, 1 for the largest), or 0 if h is empty.
func (h *Hist) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range h {
		seen += c
		if seen >= want && c > 0 {
			return time.Duration(upper(i)) * time.Microsecond
		}
	}
	return 0
}

// Print writes the figures NAME/p50, NAME/p99 and NAME/max, in
// milliseconds, one line each.
func (h *Hist) Print(w io.Writer, name string) {
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}, {"max", 1}} {
		fmt.Fprintf(w, "%s/%s %.2f ms\n", name, q.name, float64(h.Quantile(q.q))/float64(time.Millisecond))
	}
}
