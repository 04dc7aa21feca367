package httpfetch

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// contentRange is a parsed Content-Range header of a 206 response:
// "bytes first-last/total", with total -1 for "*".
type contentRange struct {
	First, Last, Total int64
}

var errContentRange = errors.New("malformed Content-Range")

// parseContentRange parses the Content-Range of a 206 response (RFC 9110
// section 14.4): `bytes first-last/complete-length` where complete-length
// may be "*". It rejects everything else, including the "bytes */N" form
// that belongs to 416 responses, and ranges that end before they begin or
// past the complete length.
func parseContentRange(s string) (contentRange, error) {
	var cr contentRange
	unit, rest, ok := strings.Cut(s, " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return cr, errContentRange
	}
	rest = strings.TrimLeft(rest, " ")
	rng, total, ok := strings.Cut(rest, "/")
	if !ok {
		return cr, errContentRange
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return cr, errContentRange
	}
	var err error
	if cr.First, err = parseDigits(first); err != nil {
		return cr, err
	}
	if cr.Last, err = parseDigits(last); err != nil {
		return cr, err
	}
	if total == "*" {
		cr.Total = -1
	} else if cr.Total, err = parseDigits(total); err != nil {
		return cr, err
	}
	if cr.Last < cr.First || cr.Total >= 0 && cr.Last >= cr.Total {
		return cr, errContentRange
	}
	return cr, nil
}

// parseUnsatisfiedRange parses the "bytes */N" Content-Range of a 416
// response and returns N.
func parseUnsatisfiedRange(s string) (int64, error) {
	unit, rest, ok := strings.Cut(s, " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return 0, errContentRange
	}
	n, ok := strings.CutPrefix(strings.TrimLeft(rest, " "), "*/")
	if !ok {
		return 0, errContentRange
	}
	return parseDigits(n)
}

// parseDigits parses a non-empty string of ASCII digits that fits in an
// int64. Unlike strconv.ParseInt it accepts no sign.
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, errContentRange
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errContentRange
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errContentRange
	}
	return n, nil
}

// parseRetryAfter parses a Retry-After header (RFC 9110 section 10.2.3):
// a number of seconds or an HTTP date. It reports false when the header is
// absent or malformed. A date in the past gives 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := parseDigits(v); err == nil {
		if n > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// rangeHeader formats a Range header for the bytes from first to last
// inclusive; last < 0 means to the end.
func rangeHeader(first, last int64) string {
	if last < 0 {
		return "bytes=" + strconv.FormatInt(first, 10) + "-"
	}
	return "bytes=" + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10)
}

// validator returns the value to send in If-Range for a response: its
// ETag if it is strong, else its Last-Modified date, else "" (the response
// cannot safely be resumed or split, RFC 9110 section 13.1.5).
func validator(h http.Header) string {
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") && validETag(et) {
		return et
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		if _, err := http.ParseTime(lm); err == nil {
			return lm
		}
	}
	return ""
}

// validETag reports whether s is a quoted entity tag without control
// characters.
func validETag(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}
