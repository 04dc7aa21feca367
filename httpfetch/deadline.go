package httpfetch

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
)

// deadlineHandler gives every response a progress deadline instead of a
// total one: each WriteChunk bytes must be written within timeout. A
// client that stops reading is disconnected; a slow but steady download
// of any size is not.
type deadlineHandler struct {
	h        http.Handler
	timeout  time.Duration
	counters *admit.Counters // requests and bytes sent; may be nil
	logger   *slog.Logger    // one info record per request; may be nil
}

func (d *deadlineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rc := http.NewResponseController(w)
	pw := &progressWriter{ResponseWriter: w, rc: rc, timeout: d.timeout}
	defer d.log(r, pw, start)
	w = pw
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
	d.h.ServeHTTP(pw, r)
	if d.counters != nil {
		d.counters.Request(0, int(pw.sent))
	}
	// For what net/http still writes after the handler returns.
	rc.SetWriteDeadline(time.Now().Add(d.timeout))
}

// log writes the request's record: what was asked, by whom, the answer
// and how long it took, as an access log does.
func (d *deadlineHandler) log(r *http.Request, pw *progressWriter, start time.Time) {
	if d.logger == nil || !d.logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	status := pw.status
	if status == 0 {
		status = http.StatusOK
	}
	args := []any{"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.EscapedPath(),
		"status", status, "bytes", pw.sent, "duration", time.Since(start).Round(time.Microsecond)}
	if rg := r.Header.Get("Range"); rg != "" {
		args = append(args, "range", rg)
	}
	d.logger.Info("httpfetch: request", args...)
}

// progressWriter moves the write deadline forward before each WriteChunk
// bytes, and keeps the status and the size of the response for the log.
type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	sent    int64 // body bytes written
	status  int   // the status written; 0 before WriteHeader
}

func (w *progressWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
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
