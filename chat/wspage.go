package chat

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"strconv"
)

//go:embed web/index.html
var webFiles embed.FS

// webPage is the page and the parts of its Content-Security-Policy that
// do not depend on the request.
var webPage = mustPage("web/index.html")

type page struct {
	html []byte
	csp  string // without connect-src
}

func mustPage(name string) page {
	html, err := webFiles.ReadFile(name)
	if err != nil {
		panic("chat: embedded page missing: " + err.Error())
	}
	// The page's script and style are inline, so that it is one file;
	// the policy allows exactly them, by their hashes, and nothing else.
	return page{html: html, csp: "default-src 'none'; script-src " + inlineHash(html, "script") +
		"; style-src " + inlineHash(html, "style") +
		"; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}
}

// inlineHash returns the CSP source ('sha256-...') of the first
// <tag>...</tag> element of html.
func inlineHash(html []byte, tag string) string {
	open, end := []byte("<"+tag+">"), []byte("</"+tag+">")
	i := bytes.Index(html, open)
	j := bytes.Index(html, end)
	if i < 0 || j < i {
		panic("chat: embedded page has no <" + tag + "> element")
	}
	sum := sha256.Sum256(html[i+len(open) : j])
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// WebPage returns the handler of the chat page: one self-contained HTML
// file, embedded in the package, with its script and style inline and
// nothing loaded from elsewhere. It opens its socket at "ws" next to its
// own URL (a page at "/" talks to "/ws", one at "/chat/" to "/chat/ws"),
// where a [WebSocket] must be.
//
// A person picks a nickname, reads the room and types lines as nc users
// do ("/join ROOM", "/msg NICK TEXT", "/who", ...); the page keeps a list
// of the people in the room (refreshed with /who), shows the room's name,
// and reconnects with growing pauses (1 s doubling up to 30 s) when the
// connection drops or the server shuts down, back to the same nickname
// and room. Everything the server sends is shown as text, never as HTML.
//
// The page is served with a Content-Security-Policy that allows its own
// inline script and style (by their SHA-256 hashes), WebSockets to its
// own host, and nothing else: no other script, no frame, no form target.
// Only GET and HEAD are answered; other methods get 405.
func WebPage() http.Handler {
	return http.HandlerFunc(servePage)
}

func servePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(webPage.html)))
	h.Set("Content-Security-Policy", webPage.csp+"; connect-src "+connectSrc(r.Host))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(webPage.html)
}

// connectSrc allows WebSockets to the page's own host: 'self' says so in
// CSP level 3, and the ws: and wss: sources say it to browsers that
// predate it. A Host header that is not a plain host[:port] gets 'self'
// alone.
func connectSrc(host string) string {
	if !plainHost(host) {
		return "'self'"
	}
	return "'self' ws://" + host + " wss://" + host
}

func plainHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}
