package httpfetch

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRanges is the most ranges one request may ask for. A request for
// more is answered with the whole representation (RFC 9110 section 14.2
// lets a server ignore a set of many small ranges): a long Range header
// of tiny ranges would otherwise buy a large multipart answer.
const maxRanges = 64

// serveContent is http.ServeContent after normalizeRange: net/http does
// preconditions, If-Range, the Content-Range and multipart answers, and
// the ranges it gets are ones it answers correctly.
func serveContent(w http.ResponseWriter, r *http.Request, name string, modtime time.Time, content io.ReadSeeker, size int64) {
	normalizeRange(r.Header, size)
	http.ServeContent(w, r, name, modtime, content)
}

// normalizeRange rewrites the Range header of a request for a
// representation of size bytes into a form that http.ServeContent answers
// as RFC 9110 section 14 says, where on its own it does not:
//
//   - "bytes=-0" (a suffix of no bytes) is not satisfiable: 416 with
//     "Content-Range: bytes */SIZE", not 206 with "bytes SIZE-(SIZE-1)/SIZE".
//     Unsatisfiable ranges beside satisfiable ones are dropped, so
//     "bytes=-0,0-1" is answered like "bytes=0-1", as nginx does.
//   - An invalid range set ("bytes=5-2", "bytes=x") is answered 416 with
//     "Content-Range: bytes */SIZE" (section 15.5.17 says a 416 should
//     carry it; net/http leaves it out), as nginx does.
//   - A range unit other than bytes is ignored (section 14.2: MUST),
//     where net/http answers 416; the unit is matched without regard to
//     case ("Bytes=0-1"), as section 14.1 says.
//   - A last-pos or suffix-length too large for an int64 is clamped to
//     the representation, as section 14.1.1 says of any one past its end,
//     where net/http (and nginx) answer 416.
//   - A zero-length representation is sent whole, with 200, whatever the
//     range (no range of it can be written in a Content-Range), as nginx
//     does; net/http answers "bytes=-1" with 206 and "bytes 0--1/0".
//   - Empty list elements are skipped (section 5.6.1), as net/http does.
//
// The rewritten header is removed (the whole representation is sent),
// "bytes=SIZE-" (which net/http answers 416 with "bytes */SIZE"), or a
// list of satisfiable ranges in canonical form.
func normalizeRange(h http.Header, size int64) {
	v := h.Get("Range")
	if v == "" {
		return
	}
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(strings.Trim(unit, " \t"), "bytes") || size <= 0 {
		h.Del("Range")
		return
	}
	unsatisfiable := "bytes=" + strconv.FormatInt(size, 10) + "-"
	var kept []string
	for _, spec := range strings.Split(set, ",") {
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue
		}
		r, ok, valid := satisfiable(spec, size)
		if !valid {
			h.Set("Range", unsatisfiable)
			return
		}
		if ok {
			kept = append(kept, r)
		}
	}
	switch {
	case len(kept) == 0:
		h.Set("Range", unsatisfiable)
	case len(kept) > maxRanges:
		h.Del("Range")
	default:
		h.Set("Range", "bytes="+strings.Join(kept, ","))
	}
}

// satisfiable parses one byte-range-spec ("first-last", "first-" or
// "-suffix") for a representation of size > 0 bytes. valid is false if
// the spec is malformed; ok reports whether it is satisfiable, and r is
// then the spec clamped to the representation.
func satisfiable(spec string, size int64) (r string, ok, valid bool) {
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return "", false, false
	}
	if first == "" { // suffix-range
		n, big, isNum := bigDigits(last)
		switch {
		case !isNum:
			return "", false, false
		case n == 0 && !big:
			return "", false, true // a suffix of no bytes
		case big || n > size:
			n = size
		}
		return "-" + strconv.FormatInt(n, 10), true, true
	}
	f, fbig, isNum := bigDigits(first)
	if !isNum {
		return "", false, false
	}
	l, lbig := int64(0), true // no last-pos: to the end
	if last != "" {
		if l, lbig, isNum = bigDigits(last); !isNum {
			return "", false, false
		}
		if !lbig && (fbig || l < f) {
			return "", false, false // last before first
		}
	}
	if fbig || f >= size {
		return "", false, true
	}
	if lbig || l >= size {
		return strconv.FormatInt(f, 10) + "-", true, true
	}
	return strconv.FormatInt(f, 10) + "-" + strconv.FormatInt(l, 10), true, true
}

// bigDigits parses a non-empty string of ASCII digits. big reports a
// number too large for an int64 (n is then 0); ok is false for anything
// that is not digits.
func bigDigits(s string) (n int64, big, ok bool) {
	if s == "" {
		return 0, false, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, true, true
	}
	return n, false, true
}
