package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit/httpfetch"
)

// fakeMeter is a meter whose clock moves only when the test says.
func fakeMeter(tty bool) (*meter, *bytes.Buffer, func(time.Duration)) {
	var buf bytes.Buffer
	t := time.Unix(1700000000, 0)
	m := newMeter(&buf, "copy.iso", tty)
	m.now = func() time.Time { return t }
	m.last = t
	return m, &buf, func(d time.Duration) { t = t.Add(d) }
}

const mib = 1 << 20

// On a terminal: one line redrawn in place, the rate over the last 5 s,
// the ETA from it; a retry message clears the line first; finish clears
// it for the summary.
func TestMeterTerminal(t *testing.T) {
	t.Parallel()
	m, buf, advance := fakeMeter(true)
	m.update(httpfetch.Progress{Done: 0, Total: 100 * mib})
	advance(time.Second)
	m.update(httpfetch.Progress{Done: 4 * mib, Total: 100 * mib})
	advance(time.Second)
	m.update(httpfetch.Progress{Done: 8 * mib, Total: 100 * mib})
	m.retry(httpfetch.Retry{Err: os.NewSyscallError("read", syscall.ECONNRESET), Wait: 1500 * time.Millisecond, Attempt: 2, Max: 5})
	advance(10 * time.Second) // the rate now looks back 5 s at most
	m.update(httpfetch.Progress{Done: 18 * mib, Total: 100 * mib})
	m.finish()
	want := "\rcopy.iso: 0 B of 100.0 MiB (0%), 0 B/s\x1b[K" +
		"\rcopy.iso: 4.0 MiB of 100.0 MiB (4%), 4.0 MiB/s, ETA 24s\x1b[K" +
		"\rcopy.iso: 8.0 MiB of 100.0 MiB (8%), 4.0 MiB/s, ETA 23s\x1b[K" +
		"\r\x1b[Khttpfetch: connection reset, retrying in 1.5s (2/5)\n" +
		"\rcopy.iso: 18.0 MiB of 100.0 MiB (18%), 1.0 MiB/s, ETA 1m22s\x1b[K" +
		"\r\x1b[K"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("terminal output (-want +got):\n%s", diff)
	}
}

// Elsewhere: a plain line every plainEvery, nothing before the first
// interval, no terminal controls; a size not known yet has no total and
// no ETA.
func TestMeterPlain(t *testing.T) {
	t.Parallel()
	m, buf, advance := fakeMeter(false)
	for i := range 12 {
		advance(time.Second)
		m.update(httpfetch.Progress{Done: int64(i+1) * mib, Total: -1})
	}
	m.Write([]byte("a log line\n"))
	m.finish()
	want := "copy.iso: 5.0 MiB, 1.0 MiB/s\n" +
		"copy.iso: 10.0 MiB, 1.0 MiB/s\n" +
		"a log line\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("plain output (-want +got):\n%s", diff)
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 26 * time.Second: "26s", 245 * time.Second: "4m05s",
		3720 * time.Second: "1h02m", 100 * time.Hour: "100h00m",
	} {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&httpfetch.StatusError{StatusCode: 503, Status: "503 Service Unavailable"}, "503 Service Unavailable"},
		{fmt.Errorf("Get: dial: %w", os.NewSyscallError("connect", syscall.ECONNREFUSED)), "connection refused"},
		{fmt.Errorf("x: %w", httpfetch.ErrStalled), "stalled: no data"},
		{fmt.Errorf("Get \"u\": dial tcp: lookup nowhere: no such host"), "no such host"},
	} {
		if got := reason(tt.err); got != tt.want {
			t.Errorf("reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", mib - 1: "1.0 MiB",
		mib - 40: "1.0 MiB", mib - 100: "1023.9 KiB", 1 << 30: "1.0 GiB", 1 << 62: "4.0 EiB",
	} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestMeterLongName: a long name is cut between characters, never in one.
func TestMeterLongName(t *testing.T) {
	t.Parallel()
	m := newMeter(io.Discard, strings.Repeat("é", 30)+".bin", false)
	if !utf8.ValidString(m.name) || !strings.HasSuffix(m.name, "...") || len(m.name) > 40 {
		t.Errorf("name %q: want valid UTF-8 of at most 40 bytes ending in ...", m.name)
	}
}
