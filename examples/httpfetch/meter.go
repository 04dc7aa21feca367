package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// plainEvery is the least time between two progress lines when standard
// error is not a terminal (a log, a pipe, CI): wget's dots, one line at a
// time. Tests shorten it.
var plainEvery = 5 * time.Second

// rateWindow is how far back the rate shown (and the ETA) looks.
const rateWindow = 5 * time.Second

// meter shows the progress of one download, all its parts together, on
// standard error: on a terminal one line redrawn in place, like aria2c's
// ("copy.iso: 12.5 MiB of 100.0 MiB (12%), 3.4 MiB/s, ETA 26s");
// elsewhere the same line every plainEvery. Retry messages and log lines
// go through it, so that they never land in the middle of the line.
//
// It replaces github.com/schollz/progressbar, which draws a bar only on
// a terminal and has nothing for a log file; the line is the same in
// both cases here, so one small type does both, and its output can be
// tested with a fake clock.
type meter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	name  string
	now   func() time.Time
	every time.Duration

	last    time.Time // when a plain line was last printed
	drawn   bool      // a line is on the terminal, to be cleared first
	samples []sample  // recent (time, done), for the rate
}

type sample struct {
	t    time.Time
	done int64
}

// newMeter returns a meter for the download of name, printed to w.
func newMeter(w io.Writer, name string, tty bool) *meter {
	name = textsafe.Clean(name)
	if len(name) > 40 {
		cut := 37
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut-- // not in the middle of a character
		}
		name = name[:cut] + "..."
	}
	m := &meter{w: w, tty: tty, name: name, now: time.Now, every: plainEvery}
	m.last = m.now()
	return m
}

// update is the client's Progress callback.
func (m *meter) update(p httpfetch.Progress) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if n := len(m.samples); n > 0 && p.Done < m.samples[n-1].done {
		m.samples = m.samples[:0] // the download started over
	}
	m.samples = append(m.samples, sample{now, p.Done})
	for len(m.samples) > 2 && now.Sub(m.samples[1].t) >= rateWindow {
		m.samples = m.samples[1:]
	}
	line := m.line(p)
	if m.tty {
		fmt.Fprintf(m.w, "\r%s\x1b[K", line)
		m.drawn = true
		return
	}
	if now.Sub(m.last) >= m.every {
		m.last = now
		fmt.Fprintln(m.w, line)
	}
}

// line describes p.
func (m *meter) line(p httpfetch.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", m.name, size(p.Done))
	if p.Total >= 0 {
		pct := 100.0
		if p.Total > 0 {
			pct = float64(p.Done) * 100 / float64(p.Total)
		}
		fmt.Fprintf(&b, " of %s (%.0f%%)", size(p.Total), pct)
	}
	rate := p.Rate
	if n := len(m.samples); n >= 2 {
		first, last := m.samples[0], m.samples[n-1]
		if el := last.t.Sub(first.t).Seconds(); el > 0 {
			rate = float64(last.done-first.done) / el
		}
	}
	fmt.Fprintf(&b, ", %s/s", size(int64(rate)))
	if p.Total >= 0 && p.Done < p.Total && rate >= 1 {
		eta := time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %s", clock(eta))
	}
	return b.String()
}

// clock formats an ETA as aria2c does: 26s, 4m05s, 1h02m.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
}

// retry is the client's OnRetry callback: "httpfetch: connection reset,
// retrying in 1s (2/5)".
func (m *meter) retry(r httpfetch.Retry) {
	fmt.Fprintf(m, "httpfetch: %s, retrying in %s (%d/%d)\n", reason(r.Err), wait(r.Wait), r.Attempt, r.Max)
}

// Write prints a line of its own (a log line, a retry message), after
// clearing the progress line from the terminal; the next update draws it
// again.
func (m *meter) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clear()
	return m.w.Write(b)
}

func (m *meter) clear() {
	if m.drawn {
		fmt.Fprint(m.w, "\r\x1b[K")
		m.drawn = false
	}
}

// finish clears the progress line, for the summary that follows.
func (m *meter) finish() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clear()
}

// reason says in a few words why a request failed.
func reason(err error) string {
	var se *httpfetch.StatusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return textsafe.Clean(se.Status)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, httpfetch.ErrStalled):
		return "stalled: no data"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed early"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return textsafe.Clean(msg)
}

// wait formats a retry's wait: 250ms, 1s, 1.5s.
func wait(d time.Duration) string {
	if d < time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
