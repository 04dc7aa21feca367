package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockkit/sockkit/internal/admit"
)

// Result is what one attack found: how the legitimate client fared, how
// many bytes a reflection sent its victim, the server's memory, and any
// target that was missed.
type Result struct {
	Name string
	// Skip, if not empty, is why the attack did not run.
	Skip string
	// LegitOK of Legit attempts of the legitimate client succeeded; the
	// share must be at least LegitTarget. Legit 0 means no legitimate
	// client ran.
	LegitOK, Legit int
	LegitTarget    float64
	// Reflect, if not nil, is what a reflection cost its victim.
	Reflect *Wire
	// RSS and PeakRSS are the server process's resident memory at the end
	// of the attack and at its peak, in bytes; 0 when unknown.
	RSS, PeakRSS int64
	// Fails lists the targets that were missed, each as one sentence.
	Fails []string
	// Notes are what was measured, for the reader.
	Notes []string
	// Settings lists the non-default server settings the attack used.
	Settings []string
}

// Wire counts the bytes of a reflection as they cross the network: the
// payload of each datagram plus admit.Overhead (28) bytes of IPv4 and UDP
// headers.
type Wire struct {
	In  int64 // what the attacker sent to the server
	Out int64 // what the victim received from it
}

// addWire adds to *p n datagrams of size payload bytes, as counted on
// the wire.
func addWire(p *int64, n, size int) { *p += int64(n) * int64(size+admit.Overhead) }

// Ratio is Out per In, 0 when nothing was sent.
func (w Wire) Ratio() float64 {
	if w.In == 0 {
		return 0
	}
	return float64(w.Out) / float64(w.In)
}

// OK reports whether the victim got at most admit.Factor times what was
// sent in its name (an exact comparison, not a rounded one).
func (w Wire) OK() bool { return w.Out <= admit.Factor*w.In }

// Verdict is the result of a Result: PASS, FAIL or SKIP.
func (r *Result) Verdict() string {
	switch {
	case r.Skip != "":
		return "SKIP"
	case len(r.problems()) > 0:
		return "FAIL"
	}
	return "PASS"
}

// problems returns every missed target: the listed ones, the legitimate
// client's share and the reflection ratio.
func (r *Result) problems() []string {
	p := append([]string(nil), r.Fails...)
	if r.Legit > 0 && float64(r.LegitOK) < r.LegitTarget*float64(r.Legit) {
		p = append(p, fmt.Sprintf("legitimate client: %d of %d, below %s", r.LegitOK, r.Legit, pct(r.LegitTarget)))
	}
	if r.Legit == 0 && r.LegitTarget > 0 && r.Skip == "" {
		p = append(p, "the legitimate client made no attempt")
	}
	if r.Reflect != nil && !r.Reflect.OK() {
		p = append(p, fmt.Sprintf("the victim got %.2fx the bytes sent in its name, more than %d", r.Reflect.Ratio(), admit.Factor))
	}
	return p
}

// pct formats a share as a whole percentage.
func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// Header is the line above the results.
const Header = "attack                  legit (target)            out/in (max)   server RSS (peak)    result  details"

// Line returns r as one line of the report.
func (r *Result) Line() string {
	legit := "-"
	if r.Legit > 0 {
		legit = fmt.Sprintf("%d/%d %s (>=%s)", r.LegitOK, r.Legit, pct(float64(r.LegitOK)/float64(r.Legit)), pct(r.LegitTarget))
	}
	ratio := "-"
	if r.Reflect != nil {
		ratio = fmt.Sprintf("%.2f (<=%d)", r.Reflect.Ratio(), admit.Factor)
	}
	rss := "-"
	if r.RSS > 0 {
		rss = fmt.Sprintf("%s (%s)", mib(r.RSS), mib(r.PeakRSS))
	}
	var details []string
	switch {
	case r.Skip != "":
		details = []string{r.Skip}
	default:
		for _, p := range r.problems() {
			details = append(details, "MISSED: "+p)
		}
		details = append(details, r.Notes...)
		if len(r.Settings) > 0 {
			details = append(details, "non-default settings: "+strings.Join(r.Settings, ", "))
		}
	}
	return fmt.Sprintf("%-23s %-25s %-14s %-20s %-6s  %s", r.Name, legit, ratio, rss, r.Verdict(), strings.Join(details, "; "))
}

// Footer returns the last line of the report and how many attacks failed.
func Footer(rs []*Result) (string, int) {
	var pass, fail, skip int
	for _, r := range rs {
		switch r.Verdict() {
		case "PASS":
			pass++
		case "FAIL":
			fail++
		default:
			skip++
		}
	}
	line := fmt.Sprintf("attack: %d passed, %d failed", pass, fail)
	if skip > 0 {
		line += fmt.Sprintf(" (%d skipped)", skip)
	}
	return line, fail
}

// parseMemory reads VmRSS and VmHWM (the peak) from the text of a
// /proc/PID/status file, in bytes.
func parseMemory(r io.Reader) (rss, peak int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", key, val)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", key, err)
		}
		if key == "VmRSS" {
			rss = n << 10
		} else {
			peak = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 || peak == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM")
	}
	return rss, peak, nil
}

// parseRcvbufErrors reads, from the text of /proc/net/snmp, how many UDP
// datagrams the kernel dropped because a socket's receive buffer was full.
func parseRcvbufErrors(r io.Reader) (int64, error) {
	var names []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				return strconv.ParseInt(f[i], 10, 64)
			}
		}
		break
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no Udp: RcvbufErrors")
}
