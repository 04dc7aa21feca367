package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"time"

	"github.com/sockkit/sockkit/timesync"
)

// report is what query prints of a [timesync.Response]: the line that
// reads like ntpdig's, the detail of -v, and the object of -json.
type report struct {
	server string // as the user gave it
	ip     string // the address queried, when it differs from server
	r      *timesync.Response
}

// newReport describes r, the answer of server; peer, if known, is the
// address the query went to.
func newReport(server string, peer net.Addr, r *timesync.Response) *report {
	rep := &report{server: server, r: r}
	if peer == nil {
		return rep
	}
	ip := peer.String()
	if _, _, err := net.SplitHostPort(server); err != nil {
		// A host alone went to NTP's port: the address alone, as ntpdig.
		ip, _, _ = net.SplitHostPort(ip)
		server = strings.Trim(server, "[]")
	}
	if ip != server {
		rep.ip = ip
	}
	return rep
}

// clockDrift is the frequency tolerance of a clock, PHI of RFC 5905
// (15 ppm): how far the local clock may drift during the exchange.
const clockDrift = 15e-6

// errorBound returns how far, at most, the offset may be from the truth
// as far as this exchange tells: half the round-trip delay, plus the
// server's precision and the local clock's drift over the exchange.
// This is ntpdig's "synchronization distance", the number after its
// "+/-".
func (rep *report) errorBound() float64 {
	r := rep.r
	return math.Abs(r.Delay.Seconds()/2 + clockDrift*r.T4.Sub(r.T1).Seconds() + math.Ldexp(1, int(r.Precision)))
}

// digits returns how many decimal digits of a second the server's
// precision makes meaningful, at most 6 (microseconds), as ntpdig does.
func (rep *report) digits() int {
	d := int(-math.Log10(math.Ldexp(1, int(rep.r.Precision))))
	return min(max(d, 0), 6)
}

// leapWord returns the leap indicator in ntpdig's words.
func leapWord(l timesync.LeapIndicator) string {
	switch l {
	case timesync.LeapNone:
		return "no-leap"
	case timesync.LeapAddSecond:
		return "add-leap"
	case timesync.LeapDelSecond:
		return "del-leap"
	default:
		return "unsync"
	}
}

// serverTime returns the server's time (its transmit timestamp) in loc,
// as "2006-01-02 15:04:05.000000 (-0700)" with as many digits as
// [report.digits], truncated, not rounded, like ntpdig's.
func (rep *report) serverTime(loc *time.Location) string {
	t := rep.r.T3.In(loc)
	s := t.Format("2006-01-02 15:04:05")
	if d := rep.digits(); d > 0 {
		s += fmt.Sprintf(".%06d", t.Nanosecond()/1000)[:d+1]
	}
	return s + t.Format(" (-0700)")
}

// line returns the one line query prints, shaped as ntpdig's:
//
//	2026-12-02 13:40:01.123456 (+0000) +0.000123 +/- 0.000045 127.0.0.1:12300 s1 no-leap
func (rep *report) line(loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %+f +/- %f %s", rep.serverTime(loc), rep.r.Offset.Seconds(), rep.errorBound(), rep.server)
	if rep.ip != "" {
		b.WriteString(" " + rep.ip)
	}
	fmt.Fprintf(&b, " s%d %s", rep.r.Stratum, leapWord(rep.r.Leap))
	return b.String()
}

// writeDetail prints the detail of -v, a field a line.
func (rep *report) writeDetail(w io.Writer) {
	r := rep.r
	ip := rep.ip
	if ip == "" {
		ip = rep.server
	}
	fmt.Fprintf(w, "server %s\naddress %s\noffset %v\ndelay %v\nerror %v\nstratum %d\nrefid %s\nleap %s\n",
		rep.server, ip, r.Offset, r.Delay, seconds(rep.errorBound()), r.Stratum,
		timesync.RefIDString(r.Stratum, r.RefID), r.Leap)
	fmt.Fprintf(w, "precision 2^%d s (%v)\nroot delay %v\nroot dispersion %v\nreference time %s\n",
		r.Precision, seconds(math.Ldexp(1, int(r.Precision))), r.RootDelay, r.RootDispersion, stamp(r.ReferenceTime))
	fmt.Fprintf(w, "t1 %s\nt2 %s\nt3 %s\nt4 %s\nsamples %d\n",
		stamp(r.T1), stamp(r.T2), stamp(r.T3), stamp(r.T4), r.Samples)
}

// seconds turns a number of seconds into a Duration, for printing.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// stamp formats a timestamp of the exchange, in UTC to the nanosecond.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// jsonReport is the object of query -json. Times are RFC 3339 in UTC;
// durations are in seconds, as floats, as ntpdig's are.
type jsonReport struct {
	Server         string  `json:"server"`  // as given
	Address        string  `json:"address"` // the address queried
	Time           string  `json:"time"`    // the server's transmit time
	Offset         float64 `json:"offset"`  // add it to the local clock to get the server's
	Delay          float64 `json:"delay"`   // round trip, less the server's holding time
	Error          float64 `json:"error"`   // the "+/-" of the line
	Stratum        uint8   `json:"stratum"`
	RefID          string  `json:"refid"`
	Leap           string  `json:"leap"`      // no-leap, add-leap, del-leap or unsync
	Precision      int8    `json:"precision"` // log2 seconds
	RootDelay      float64 `json:"root_delay"`
	RootDispersion float64 `json:"root_dispersion"`
	ReferenceTime  string  `json:"reference_time"`
	Samples        int     `json:"samples"` // valid replies the result was chosen from
}

// writeJSON prints the object of -json on one line.
func (rep *report) writeJSON(w io.Writer) error {
	r := rep.r
	addr := rep.ip
	if addr == "" {
		addr = rep.server
	}
	b, err := json.Marshal(jsonReport{
		Server:         rep.server,
		Address:        addr,
		Time:           stamp(r.T3),
		Offset:         r.Offset.Seconds(),
		Delay:          r.Delay.Seconds(),
		Error:          rep.errorBound(),
		Stratum:        r.Stratum,
		RefID:          timesync.RefIDString(r.Stratum, r.RefID),
		Leap:           leapWord(r.Leap),
		Precision:      r.Precision,
		RootDelay:      r.RootDelay.Seconds(),
		RootDispersion: r.RootDispersion.Seconds(),
		ReferenceTime:  stamp(r.ReferenceTime),
		Samples:        r.Samples,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
