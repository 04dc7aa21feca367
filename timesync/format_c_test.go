package timesync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cDirectives is the locale-independent directive table of C's strftime
// (and so of Python's time.strftime), as the package documentation lists
// it.
var cDirectives = strings.Fields("%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%")

// cZones are the zones the comparison runs in: UTC, zones east and west
// of it, one with a half-hour offset, and two with daylight saving time.
var cZones = []string{"UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Europe/Berlin"}

// cInstants are wall-clock times, read in each zone: year boundaries and
// the weeks around them for %G %g %V %U %W, single-digit days and hours
// for %e %k %l, noon and midnight for %I %l %p %P, a leap day and the
// 366th day, and the changes to and from summer time in New York
// (2026-03-08, 2026-11-01) and Berlin (2026-03-29, 2026-10-25).
var cInstants = []struct{ y, mo, d, h, mi, s int }{
	{1970, 1, 1, 0, 0, 0},
	{1999, 12, 31, 23, 59, 59},
	{2000, 2, 29, 6, 7, 8},
	{2009, 12, 31, 12, 0, 0},   // Thursday
	{2010, 1, 3, 18, 30, 0},    // Sunday, ISO 2009-W53
	{2020, 12, 31, 23, 59, 59}, // Thursday, ISO 2020-W53
	{2021, 1, 1, 0, 0, 0},      // Friday, ISO 2020-W53
	{2021, 1, 3, 12, 0, 0},     // Sunday: %U 01, %W 00
	{2021, 1, 4, 0, 0, 1},      // Monday, ISO 2021-W01
	{2023, 1, 1, 9, 9, 9},      // Sunday, ISO 2022-W52
	{2024, 12, 29, 23, 0, 0},   // Sunday
	{2024, 12, 30, 0, 30, 0},   // Monday, ISO 2025-W01
	{2024, 12, 31, 11, 59, 59}, // day 366
	{2026, 3, 7, 14, 5, 9},     // the documentation's example
	{2026, 3, 8, 3, 30, 0},     // New York, just after the change to summer time
	{2026, 3, 29, 3, 30, 0},    // Berlin, just after the change to summer time
	{2026, 6, 1, 7, 3, 4},
	{2026, 6, 9, 0, 0, 0},
	{2026, 6, 9, 0, 59, 59},
	{2026, 6, 9, 11, 59, 59},
	{2026, 6, 9, 12, 0, 0},
	{2026, 6, 9, 12, 59, 59},
	{2026, 6, 9, 23, 59, 59},
	{2026, 10, 25, 4, 0, 0}, // Berlin, after the change back
	{2026, 11, 1, 1, 30, 0}, // New York, the hour that happens twice
	{2026, 11, 1, 12, 0, 0}, // New York, after the change back
	{2027, 1, 1, 0, 0, 0},   // Friday, ISO 2026-W53
	{2028, 1, 1, 8, 0, 0},   // Saturday, ISO 2027-W52
	{2038, 1, 19, 3, 14, 8}, // past 2^31 seconds
	{2100, 3, 1, 5, 0, 0},   // 2100 is not a leap year
}

// cInstantsIn returns cInstants in loc, as Unix times.
func cInstantsIn(loc *time.Location) []time.Time {
	ts := make([]time.Time, len(cInstants))
	for i, c := range cInstants {
		ts[i] = time.Date(c.y, time.Month(c.mo), c.d, c.h, c.mi, c.s, 0, loc)
	}
	return ts
}

// loadZone loads a zone that the C library can read too, or skips.
func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	if name != "UTC" {
		if _, err := os.Stat("/usr/share/zoneinfo/" + name); err != nil {
			t.Skipf("no /usr/share/zoneinfo/%s (Debian package tzdata)", name)
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("zone %s: %v (Debian package tzdata)", name, err)
	}
	return loc
}

// ours formats tm with every directive of cDirectives.
func ours(t *testing.T, tm time.Time) map[string]string {
	t.Helper()
	m := make(map[string]string, len(cDirectives))
	for _, d := range cDirectives {
		s, err := Strftime(d, tm)
		if err != nil {
			t.Fatalf("Strftime(%q): %v", d, err)
		}
		m[d] = s
	}
	return m
}

// compareC compares our formatting of every directive at every instant
// of every zone with what strftime(3) gives through peer, which formats
// the Unix times secs in zone TZ for one zone at a time.
func compareC(t *testing.T, peer func(t *testing.T, env []string, secs []int64) []map[string]string) {
	for _, zone := range cZones {
		t.Run(zone, func(t *testing.T) {
			loc := loadZone(t, zone)
			ts := cInstantsIn(loc)
			secs := make([]int64, len(ts))
			for i, tm := range ts {
				secs[i] = tm.Unix()
			}
			env := append(os.Environ(), "TZ="+zone, "LC_ALL=C")
			theirs := peer(t, env, secs)
			if len(theirs) != len(ts) {
				t.Fatalf("%d results for %d instants", len(theirs), len(ts))
			}
			for i, tm := range ts {
				if diff := cmp.Diff(theirs[i], ours(t, tm)); diff != "" {
					t.Errorf("%s (%d): directives differ (-strftime +ours):\n%s", tm.Format(time.RFC3339), secs[i], diff)
				}
			}
		})
	}
}

// pyStrftime formats with Python's time.strftime and time.localtime,
// which call the C library's strftime and localtime.
const pyStrftime = `import json, sys, time
dirs = json.loads(sys.argv[1])
secs = json.loads(sys.argv[2])
print(json.dumps([{d: time.strftime(d, time.localtime(s)) for d in dirs} for s in secs]))
`

// TestStrftimeMatchesPython compares every directive with Python's
// time.strftime in five zones at thirty instants.
func TestStrftimeMatchesPython(t *testing.T) {
	t.Parallel()
	python := need(t, "python3", "python3")
	dirs, _ := json.Marshal(cDirectives)
	compareC(t, func(t *testing.T, env []string, secs []int64) []map[string]string {
		arg, _ := json.Marshal(secs)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, python, "-c", pyStrftime, string(dirs), string(arg))
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python3: %v", err)
		}
		var res []map[string]string
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("python3 printed %q: %v", out, err)
		}
		return res
	})
}

// TestStrftimeMatchesDate compares every directive with GNU date, which
// reads "@SECONDS" lines with -f and formats each with strftime's rules.
func TestStrftimeMatchesDate(t *testing.T) {
	t.Parallel()
	date := need(t, "date", "coreutils")
	if out, err := exec.Command(date, "--version").Output(); err != nil || !bytes.Contains(out, []byte("GNU")) {
		t.Skip("date is not GNU date (Debian package coreutils)")
	}
	const sep, end = "|", "|END\n" // no directive produces a '|'
	format := "+" + strings.Join(cDirectives, sep) + strings.TrimSuffix(end, "\n")
	compareC(t, func(t *testing.T, env []string, secs []int64) []map[string]string {
		var in strings.Builder
		for _, s := range secs {
			fmt.Fprintf(&in, "@%d\n", s)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, date, "-f", "-", format)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(in.String())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("date: %v", err)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), end), end)
		res := make([]map[string]string, len(lines))
		for i, l := range lines {
			fields := strings.Split(l, sep)
			if len(fields) != len(cDirectives) {
				t.Fatalf("date printed %q: %d fields", l, len(fields))
			}
			res[i] = make(map[string]string, len(fields))
			for j, d := range cDirectives {
				res[i][d] = fields[j]
			}
		}
		return res
	})
}
