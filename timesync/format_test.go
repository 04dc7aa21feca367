package timesync

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// docTime is the time of the examples in the conversion table of doc.go.
func docTime(t testing.TB) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("CET")
	if err != nil {
		loc = time.FixedZone("CET", 3600)
	}
	return time.Date(2026, 3, 7, 14, 5, 9, 123456789, loc)
}

// TestStrftimeTable checks every conversion against the examples of the
// package documentation.
func TestStrftimeTable(t *testing.T) {
	tm := docTime(t)
	for _, tc := range []struct{ format, want string }{
		{"%Y", "2026"}, {"%y", "26"}, {"%m", "03"}, {"%d", "07"}, {"%e", " 7"},
		{"%H", "14"}, {"%I", "02"}, {"%M", "05"}, {"%S", "09"}, {"%p", "PM"},
		{"%b", "Mar"}, {"%B", "March"}, {"%a", "Sat"}, {"%A", "Saturday"},
		{"%j", "066"}, {"%u", "6"}, {"%w", "6"}, {"%Z", "CET"}, {"%z", "+0100"},
		{"%s", "1772888709"}, {"%F", "2026-03-07"}, {"%T", "14:05:09"}, {"%D", "03/07/26"},
		{"%N", "123456789"}, {"%3N", "123"}, {"%1N", "1"}, {"%9N", "123456789"},
		{"%f", "123456"}, {"%%", "%"},
		{"", ""},
		{"at %H:%M, on %A %e %B %Y", "at 14:05, on Saturday  7 March 2026"},
		{"日付 %F", "日付 2026-03-07"},
		{"100%% %S", "100% 09"},
	} {
		got, err := Strftime(tc.format, tm)
		if err != nil || got != tc.want {
			t.Errorf("Strftime(%q) = %q, %v; want %q", tc.format, got, err, tc.want)
		}
	}
}

func TestStrftimeEdges(t *testing.T) {
	for _, tc := range []struct {
		format string
		tm     time.Time
		want   string
	}{
		{"%I %p", time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC), "12 AM"},
		{"%I %p", time.Date(2026, 1, 1, 12, 30, 0, 0, time.UTC), "12 PM"},
		{"%I %p", time.Date(2026, 1, 1, 23, 30, 0, 0, time.UTC), "11 PM"},
		{"%u %w %a", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), "7 0 Sun"},
		{"%Y %y", time.Date(987, 1, 1, 0, 0, 0, 0, time.UTC), "0987 87"},
		{"%Y", time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), "12345"},
		{"%j %e %d", time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), "366 31 31"},
		{"%z %Z", time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("NST", -(3*3600+30*60))), "-0330 NST"},
		{"%s", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), "-1"},
		{"%s", time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), "2085978496"},
	} {
		got, err := Strftime(tc.format, tc.tm)
		if err != nil || got != tc.want {
			t.Errorf("Strftime(%q, %v) = %q, %v; want %q", tc.format, tc.tm, got, err, tc.want)
		}
	}
}

func TestStrftimeErrors(t *testing.T) {
	for _, tc := range []struct {
		format string
		offset int
		reason string
	}{
		{"%Q", 0, "unknown conversion %Q"},
		{"ab %", 3, "incomplete conversion %"},
		{"%5", 0, "incomplete conversion %5"},
		{"%5x", 0, "unknown conversion %5x"},
		{"%0N", 0, "unknown conversion %0"},
		{"%é", 0, "unknown conversion %é"},
		{"x\x1b[2J", 1, "control character"},
		{"bad \xff", 4, "invalid UTF-8"},
		{"tab\tok %Q", 7, "unknown conversion %Q"},
		{"a\u202eb", 1, "bidirectional or invisible control"},
	} {
		_, err := Strftime(tc.format, time.Unix(0, 0))
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("Strftime(%q): error %v, want a *FormatError", tc.format, err)
			continue
		}
		if fe.Offset != tc.offset || fe.Reason != tc.reason {
			t.Errorf("Strftime(%q): offset %d reason %q; want %d %q", tc.format, fe.Offset, fe.Reason, tc.offset, tc.reason)
		}
	}
}

// FuzzFormat checks that the format parser never panics, that what it
// accepts formats to safe text that can never be taken for an error reply,
// and that what it rejects is reported with an offset inside the format.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"%Y-%m-%d %H:%M:%S", "%", "%%", "%3N%N%f", "%Q", "日付 %F %T %Z %z", "%5", "\xff", "%\x00", "%s %j %e"} {
		f.Add(s)
	}
	tm := docTime(f)
	f.Fuzz(func(t *testing.T, format string) {
		out, err := Strftime(format, tm)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > len(format) {
				t.Fatalf("Strftime(%q): bad error %#v", format, err)
			}
			return
		}
		if !utf8.ValidString(out) || textsafe.Check(out) != nil || strings.HasPrefix(out, "\x15") {
			t.Fatalf("Strftime(%q) = %q: not safe text", format, out)
		}
	})
}
