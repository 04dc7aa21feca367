package chat

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestWebPage(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(WebPage())
	defer hs.Close()
	for _, tc := range []struct {
		method string
		status int
		body   bool
	}{
		{http.MethodGet, http.StatusOK, true},
		{http.MethodHead, http.StatusOK, false},
		{http.MethodPost, http.StatusMethodNotAllowed, false},
	} {
		t.Run(tc.method, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, hs.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			if tc.body && !bytes.Equal(body, webPage.html) {
				t.Errorf("body is not the embedded page (%d bytes)", len(body))
			}
			host := strings.TrimPrefix(hs.URL, "http://")
			for h, want := range map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Content-Security-Policy": "default-src 'none'; script-src " + inlineHash(webPage.html, "script") +
					"; style-src " + inlineHash(webPage.html, "style") +
					"; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" +
					"; connect-src 'self' ws://" + host + " wss://" + host,
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
		})
	}
}

// TestWebPageContent checks the page's own rules: one file, nothing from
// elsewhere, text from the server never parsed as HTML.
func TestWebPageContent(t *testing.T) {
	t.Parallel()
	html := string(webPage.html)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "src=", "href=", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("the page uses %q", bad)
		}
	}
	if n := strings.Count(html, "<script"); n != 1 {
		t.Errorf("%d script elements, want the one inline", n)
	}
	if n := strings.Count(html, "<style"); n != 1 {
		t.Errorf("%d style elements, want the one inline", n)
	}
	if m := regexp.MustCompile(`https?://`).FindString(html); m != "" {
		t.Errorf("the page names a URL (%s)", m)
	}
}

func TestConnectSrc(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ host, want string }{
		{"127.0.0.1:8080", "'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080"},
		{"[::1]:8080", "'self' ws://[::1]:8080 wss://[::1]:8080"},
		{"chat.example.com", "'self' ws://chat.example.com wss://chat.example.com"},
		{"", "'self'"},
		{"a b", "'self'"},
		{"x; script-src *", "'self'"},
		{strings.Repeat("a", 256), "'self'"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if got := connectSrc(tc.host); got != tc.want {
				t.Errorf("connectSrc(%q) = %q, want %q", tc.host, got, tc.want)
			}
		})
	}
}
