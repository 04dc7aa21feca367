package httpfetch

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// HelloPage is the page served at every path by a [Server] with neither
// Dir nor FS: the page of the classic "my first web server" tutorial,
// whose handler is registered at "/" and so answers every path. It is
// sent as "text/html; charset=utf-8", with an ETag, to GET and HEAD.
const HelloPage = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Hello World</title></head>
<body><h1>Hello World</h1><p>Served by sockkit httpfetch.</p></body>
</html>
`

// helloETag is the strong validator of HelloPage.
const helloETag = `"hello-1"`

// fileHandler serves the files of fsys, or HelloPage when fsys is nil.
type fileHandler struct {
	fsys     fs.FS
	dotfiles bool
	logger   *slog.Logger
}

func (h *fileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || hasDotDot(p) {
		http.Error(w, "invalid URL path", http.StatusBadRequest)
		return
	}
	if h.fsys == nil {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("ETag", helloETag)
		serveContent(w, r, "", time.Time{}, strings.NewReader(HelloPage), int64(len(HelloPage)))
		return
	}
	name := strings.Trim(path.Clean(p), "/")
	if name == "" {
		name = "."
	}
	if !h.dotfiles && hasDotfile(name) {
		http.NotFound(w, r)
		return
	}
	// Stat before opening: opening a FIFO would block.
	fi, err := fs.Stat(h.fsys, name)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	switch {
	case fi.IsDir():
		if !strings.HasSuffix(p, "/") {
			target := path.Base(p) + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, (&url.URL{Path: target}).String(), http.StatusMovedPermanently)
			return
		}
		index := path.Join(name, "index.html")
		if ifi, err := fs.Stat(h.fsys, index); err == nil && ifi.Mode().IsRegular() {
			h.serveFile(w, r, index, ifi)
			return
		}
		h.list(w, r, name)
	case !fi.Mode().IsRegular() || strings.HasSuffix(p, "/"):
		http.NotFound(w, r)
	default:
		h.serveFile(w, r, name, fi)
	}
}

// hasDotDot reports whether a slash-separated path has a ".." element.
func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// hasDotfile reports whether a cleaned path has an element that starts
// with a dot.
func hasDotfile(name string) bool {
	if name == "." {
		return false
	}
	for _, e := range strings.Split(name, "/") {
		if strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}

// fail answers an error from the file system: 404 for everything that
// does not exist or may not be reached (including paths that escape the
// root through a symbolic link), 403 for permissions, 500 otherwise.
func (h *fileHandler) fail(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case errors.Is(err, fs.ErrPermission):
		http.Error(w, "forbidden", http.StatusForbidden)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrInvalid), isEscape(err):
		http.NotFound(w, r)
	default:
		if h.logger != nil {
			h.logger.Warn("httpfetch: open failed", "name", name, "err", err)
		}
		// The error may name paths outside the root: do not send it.
		http.NotFound(w, r)
	}
}

// isEscape reports whether err is os.Root's refusal of a path that
// leaves the root.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "escapes")
}

// ETag returns the entity tag the server sends for a file: its
// modification time in nanoseconds and its size, in hex.
func ETag(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size())
}

func (h *fileHandler) serveFile(w http.ResponseWriter, r *http.Request, name string, fi fs.FileInfo) {
	f, err := h.fsys.Open(name)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	defer f.Close()
	// Describe the file that was opened, which may not be the one
	// that was stat'ed if it was replaced in between.
	if ofi, err := f.Stat(); err == nil {
		if !ofi.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		fi = ofi
	}
	w.Header().Set("ETag", ETag(fi))
	if rs, ok := f.(io.ReadSeeker); ok {
		serveContent(w, r, fi.Name(), fi.ModTime(), rs, fi.Size())
		return
	}
	// A file that cannot seek is served whole, without ranges.
	hdr := w.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		hdr.Set("Content-Type", ct)
	} else {
		hdr.Set("Content-Type", "application/octet-stream")
	}
	hdr.Set("Accept-Ranges", "none")
	if !fi.ModTime().IsZero() {
		hdr.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	}
	hdr.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	if r.Method == http.MethodHead {
		return
	}
	io.CopyN(w, f, fi.Size())
}

// list answers a directory without index.html with a list of its
// entries.
func (h *fileHandler) list(w http.ResponseWriter, r *http.Request, name string) {
	entries, err := fs.ReadDir(h.fsys, name)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	var b strings.Builder
	title := html.EscapeString(r.URL.Path)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>%s</title></head>\n<body>\n<h1>%s</h1>\n<ul>\n", title, title)
	for _, e := range entries {
		n := e.Name()
		if !h.dotfiles && strings.HasPrefix(n, ".") {
			continue
		}
		if e.IsDir() {
			n += "/"
		}
		href := (&url.URL{Path: n}).String()
		if strings.Contains(n, ":") {
			href = "./" + href // not a scheme
		}
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(href), html.EscapeString(n))
	}
	b.WriteString("</ul>\n</body>\n</html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	serveContent(w, r, "", time.Time{}, strings.NewReader(b.String()), int64(b.Len()))
}
