package httpfetch

import (
	"github.com/sockkit/sockkit/internal/admit"
	"io"
	"net/http"
	"time"
)

// deadlineHandler gives every response a progress deadline instead of a
// total one: each WriteChunk bytes must be written within timeout. A
// client that stops reading is disconnected; a slow but steady download
// of any size is not.
type deadlineHandler struct {
	h        http.Handler
	timeout  time.Duration
	counters *admit.Counters // requests and bytes sent; may be nil
}

func (d *deadlineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(d.timeout))
	if r.ContentLength != 0 {
		// Requests for files have no body. Refuse one, and close the
		// connection rather than read it.
		rc.SetReadDeadline(time.Now().Add(d.timeout))
		w.Header().Set("Connection", "close")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		http.Error(w, "request body not accepted", http.StatusBadRequest)
		return
	}
	pw := &progressWriter{ResponseWriter: w, rc: rc, timeout: d.timeout}
	d.h.ServeHTTP(pw, r)
	if d.counters != nil {
		d.counters.Request(0, int(pw.sent))
	}
	// For what net/http still writes after the handler returns.
	rc.SetWriteDeadline(time.Now().Add(d.timeout))
}

// progressWriter moves the write deadline forward before each WriteChunk
// bytes.
type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	sent    int64 // body bytes written
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *progressWriter) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		k := min(len(p), WriteChunk)
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
		m, err := w.ResponseWriter.Write(p[:k])
		n += m
		w.sent += int64(m)
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// ReadFrom keeps net/http's sendfile path (http.ServeContent copies the
// file with io.CopyN, which calls ReadFrom with an *io.LimitedReader of
// the *os.File) while cutting it into chunks with a deadline each.
func (w *progressWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	r, limit := src, int64(-1)
	lr, isLimited := src.(*io.LimitedReader)
	if isLimited {
		r, limit = lr.R, lr.N
	}
	var total int64
	var err error
	for limit != 0 {
		k := int64(WriteChunk)
		if limit > 0 && limit < k {
			k = limit
		}
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
		var n int64
		n, err = rf.ReadFrom(&io.LimitedReader{R: r, N: k})
		total += n
		w.sent += n
		if limit > 0 {
			limit -= n
		}
		if err != nil {
			break
		}
		if n < k {
			break // r is at its end
		}
	}
	if isLimited {
		lr.N = limit
	}
	return total, err
}
