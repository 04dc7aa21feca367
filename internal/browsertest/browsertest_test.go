package browsertest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestFind(t *testing.T) {
	p := Find()
	if p == "" {
		t.Skip(SkipMessage)
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("Find() = %q: %v", p, err)
	}
}

// TestNewScreenshot opens a page from a loopback server, reads it the
// way a person sees it, and takes a screenshot of it.
func TestNewScreenshot(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><title>browsertest</title><h1 id="h">It works</h1><script>document.title += " " + (1+2)</script>`)
	}))
	defer ts.Close()
	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL), chromedp.WaitVisible(chromedp.ID("h"))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("h")))
	if err != nil || text != "It works" {
		t.Fatalf("text %q, %v", text, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "browsertest 3" {
		t.Fatalf("title %q, %v: scripts do not run", title, err)
	}
	p := Screenshot(t, ctx, "page")
	b, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s is not a PNG: %v", p, err)
	}
}

// failingTB is a testing.TB that says it failed, and keeps what is
// logged.
type failingTB struct {
	testing.TB
	logs *[]string
}

func (f failingTB) Failed() bool { return true }

func (f failingTB) Logf(format string, args ...any) {
	*f.logs = append(*f.logs, fmt.Sprintf(format, args...))
}

// TestFailureScreenshot: a test that has failed when it ends gets a
// screenshot of its tab.
func TestFailureScreenshot(t *testing.T) {
	if Find() == "" {
		t.Skip(SkipMessage)
	}
	var logs []string
	t.Run("failing", func(t *testing.T) {
		ctx := New(failingTB{t, &logs})
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
	})
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "browsertest: screenshot of the failure: ") || !strings.HasSuffix(logs[0], "failure.png") {
		t.Errorf("logged %q", logs)
	}
}
