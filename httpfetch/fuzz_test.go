package httpfetch

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{
		"bytes 0-0/1", "bytes 0-499/1234", "bytes 500-999/*", "bytes */1234", "BYTES 1-2/3",
		"bytes 5-4/10", "bytes 0-10/10", "bytes -1-2/3", "bytes 1-2/-3", "bytes 99999999999999999999-1/2",
		"bytes  0-1/2", "items 0-1/2", "bytes 0-1", "bytes 0-1/2/3", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := parseContentRange(s)
		if err != nil {
			return
		}
		if cr.First < 0 || cr.Last < cr.First || cr.Total < -1 || cr.Total >= 0 && cr.Last >= cr.Total {
			t.Fatalf("%q parsed to an impossible range %+v", s, cr)
		}
		if n, err := parseUnsatisfiedRange(s); err == nil {
			t.Fatalf("%q is both a range and unsatisfied (%d)", s, n)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1.5", "", "99999999999999999999", "9223372036"} {
		f.Add(s)
	}
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if ok && d < 0 {
			t.Fatalf("%q gave a negative wait %v", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q rejected with a wait %v", s, d)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"url":"http://x/","validator":"\"v\"","size":10,"ranges":true,"parts":[{"first":0,"last":4,"next":2},{"first":5,"last":9,"next":5}]}`))
	f.Add([]byte(`{"url":"http://x/","validator":"\"v\"","size":-1,"ranges":true,"parts":[{"first":0,"last":-1,"next":7}]}`))
	f.Add([]byte(`{"parts":[null]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err != nil {
			return
		}
		var end int64
		for _, p := range st.Parts {
			if p.First != end || p.Next < p.First || p.Last >= 0 && p.Next > p.Last+1 {
				t.Fatalf("accepted inconsistent part %+v", p)
			}
			end = p.Last + 1
		}
		if st.Size >= 0 && end != st.Size {
			t.Fatalf("parts end at %d, size %d", end, st.Size)
		}
		if !fitsFile(st, 0) && st.held() == 0 {
			t.Fatalf("empty state does not fit an empty file")
		}
	})
}

// FuzzServePath sends arbitrary request paths to a directory server with
// a secret file beside the root and a dotfile inside it: neither may ever
// be served.
func FuzzServePath(f *testing.F) {
	top := f.TempDir()
	root := filepath.Join(top, "www")
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	os.WriteFile(filepath.Join(top, "secret"), []byte("SECRET-OUTSIDE"), 0o644)
	os.WriteFile(filepath.Join(root, ".env"), []byte("SECRET-DOTFILE"), 0o644)
	os.WriteFile(filepath.Join(root, "sub", "ok.txt"), []byte("fine"), 0o644)
	os.Symlink(filepath.Join(top, "secret"), filepath.Join(root, "link"))
	os.Symlink("..", filepath.Join(root, "sub", "up"))
	h, err := (&Server{Dir: root}).Handler()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/sub/ok.txt", "/../secret", "/link", "/sub/up/secret", "/.env", "/sub/../.env", "/%2e%2e/secret", "/sub/up/www/.env"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if b := rec.Body.String(); strings.Contains(b, "SECRET") {
			t.Fatalf("path %q served a secret: %d %q", p, rec.Code, b)
		}
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == "" {
			t.Fatalf("path %q: 200 without Content-Type", p)
		}
	})
}
