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
	t.Parallel()
	tm := docTime(t)
	for _, tc := range []struct{ format, want string }{
		{"%a", "Sat"}, {"%A", "Saturday"}, {"%b", "Mar"}, {"%h", "Mar"}, {"%B", "March"},
		{"%c", "Sat Mar  7 14:05:09 2026"}, {"%C", "20"}, {"%d", "07"}, {"%D", "03/07/26"},
		{"%e", " 7"}, {"%F", "2026-03-07"}, {"%G", "2026"}, {"%g", "26"}, {"%H", "14"},
		{"%I", "02"}, {"%j", "066"}, {"%k", "14"}, {"%l", " 2"}, {"%m", "03"}, {"%M", "05"},
		{"%n", "\n"}, {"%p", "PM"}, {"%P", "pm"}, {"%r", "02:05:09 PM"}, {"%R", "14:05"},
		{"%s", "1772888709"}, {"%S", "09"}, {"%t", "\t"}, {"%T", "14:05:09"}, {"%u", "6"},
		{"%U", "09"}, {"%V", "10"}, {"%w", "6"}, {"%W", "09"}, {"%x", "03/07/26"},
		{"%X", "14:05:09"}, {"%y", "26"}, {"%Y", "2026"}, {"%z", "+0100"}, {"%Z", "CET"},
		{"%%", "%"},
		{"%N", "123456789"}, {"%3N", "123"}, {"%1N", "1"}, {"%9N", "123456789"}, {"%f", "123456"},
		{"", ""},
		{"at %H:%M, on %A %e %B %Y", "at 14:05, on Saturday  7 March 2026"},
		{"日付 %F", "日付 2026-03-07"},
		{"100%% %S", "100% 09"},
		{"%G-W%V-%u", "2026-W10-6"},
		{"line%nnext\tcol%t.", "line\nnext\tcol\t."},
	} {
		t.Run(tc.format, func(t *testing.T) {
			got, err := Strftime(tc.format, tm)
			if err != nil || got != tc.want {
				t.Errorf("Strftime(%q) = %q, %v; want %q", tc.format, got, err, tc.want)
			}
		})
	}
}

func TestStrftimeEdges(t *testing.T) {
	t.Parallel()
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
		{"%C %y %G %g", time.Date(987, 6, 1, 0, 0, 0, 0, time.UTC), "09 87 0987 87"},
		{"%C %Y", time.Date(12345, 6, 1, 0, 0, 0, 0, time.UTC), "123 12345"},
		{"%C %y %Y", time.Date(-5, 6, 1, 0, 0, 0, 0, time.UTC), "-1 95 -5"},
		{"%k %l %P", time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC), " 0 12 am"},
		{"%k %l %P", time.Date(2026, 1, 1, 9, 5, 0, 0, time.UTC), " 9  9 am"},
		{"%k %l %r", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), "12 12 12:00:00 PM"},
		// 2027-01-01 is a Friday: ISO week 53 of 2026, and week 00 of
		// 2027 both counted from Sunday and from Monday.
		{"%G %g %V %U %W", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2026 26 53 00 00"},
		// 2024-12-30 is a Monday: ISO week 01 of 2025.
		{"%G %V %U %W %j", time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC), "2025 01 52 53 365"},
		// 2023-01-01 is a Sunday: week 01 from Sunday, 00 from Monday, ISO week 52 of 2022.
		{"%U %W %G-W%V", time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), "01 00 2022-W52"},
		{"%c", time.Date(2026, 12, 25, 9, 3, 7, 0, time.UTC), "Fri Dec 25 09:03:07 2026"},
	} {
		t.Run(tc.format+" "+tc.tm.Format(time.RFC3339), func(t *testing.T) {
			got, err := Strftime(tc.format, tc.tm)
			if err != nil || got != tc.want {
				t.Errorf("Strftime(%q, %v) = %q, %v; want %q", tc.format, tc.tm, got, err, tc.want)
			}
		})
	}
}

func TestStrftimeErrors(t *testing.T) {
	t.Parallel()
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
		{"a\nb %n", 1, "control character"},
		{"%E", 0, "unknown conversion %E"},
		{"%-d", 0, "unknown conversion %-"},
		{"%10Y", 0, "unknown conversion %10"},
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
// accepts formats to safe text that can never be taken for an error reply
// (its only control characters the newlines of %n and tabs), no longer
// than maxLen says, and that what it rejects is reported with an offset
// inside the format.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"%Y-%m-%d %H:%M:%S", "%", "%%", "%3N%N%f", "%Q", "日付 %F %T %Z %z", "%5", "\xff", "%\x00",
		"%s %j %e", "%c", "%n%t%n", "%G-W%V-%u %U %W", "%C%g%k%l%P%r%R%x%X%h", "%%n", "%E", "\t%t"} {
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
		cs, err := parseFormat(format)
		if err != nil {
			t.Fatalf("Strftime accepts %q, parseFormat does not: %v", format, err)
		}
		newlines := 0
		for _, c := range cs {
			if c.verb == 'n' {
				newlines++
			}
		}
		if !utf8.ValidString(out) || textsafe.Check(strings.ReplaceAll(out, "\n", "")) != nil ||
			strings.Count(out, "\n") != newlines || strings.HasPrefix(out, "\x15") {
			t.Fatalf("Strftime(%q) = %q: not safe text", format, out)
		}
		if len(out) > maxLen(cs) {
			t.Fatalf("Strftime(%q) = %d bytes, more than maxLen %d", format, len(out), maxLen(cs))
		}
	})
}

// TestMaxWidth checks that no conversion is ever longer than maxWidth
// says, over three centuries of days at all hours and in zones on both
// sides of UTC, and that every conversion has a width.
func TestMaxWidth(t *testing.T) {
	t.Parallel()
	zones := []*time.Location{time.UTC, time.FixedZone("-0930", -(9*3600 + 30*60)), time.FixedZone("LONGNAME", 14*3600)}
	verbs := "aAbBcCdDefFgGhHIjklmMnNpPrRsStTuUVwWxXyYzZ%"
	for i := range 128 {
		if want := strings.IndexByte(verbs, byte(i)) >= 0; knownVerb(byte(i)) != want {
			t.Errorf("knownVerb(%q) = %v", byte(i), !want)
		}
	}
	for _, v := range []byte(verbs) {
		t.Run(string(v), func(t *testing.T) {
			cs := mustParse("%" + string(v))
			longest := 0
			for _, loc := range zones {
				for tm := time.Date(1900, 1, 1, 0, 0, 0, 0, loc); tm.Year() < 2200; tm = tm.Add(53*time.Hour + 13*time.Minute + 999999999) {
					longest = max(longest, len(appendConvs(nil, cs, tm)))
				}
				for _, y := range []int{0, 1, 999, 9999} {
					longest = max(longest, len(appendConvs(nil, cs, time.Date(y, 12, 31, 23, 59, 59, 999999999, loc))))
				}
			}
			if longest > maxLen(cs) {
				t.Errorf("%%%c: %d bytes, maxWidth %d", v, longest, maxLen(cs))
			}
		})
	}
}
