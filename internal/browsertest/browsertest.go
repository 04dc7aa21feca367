// Package browsertest runs headless Chromium in tests, through
// github.com/chromedp/chromedp, so that a test can open a page the way a
// person would and check what it shows.
//
// It uses Debian's chromium package (/usr/bin/chromium, or chromium on
// PATH) and skips the test, saying so, where it is not installed:
//
//	func TestPage(t *testing.T) {
//		ctx := browsertest.New(t) // one tab; the browser closes when t ends
//		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
//			t.Fatal(err)
//		}
//		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
//		...
//		browsertest.Screenshot(t, ctx, "page") // page.png in t.ArtifactDir()
//	}
//
// A test that fails leaves a screenshot of its tab, failure.png, in its
// [testing.T.ArtifactDir], whose path it logs; run go test with
// -artifacts to keep it (without, the directory is removed with the
// test's other temporary files).
//
// The browser runs with [Flags] and a temporary --user-data-dir, so that
// it reaches no network on its own and leaves nothing behind; tests point
// it at loopback servers only.
package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sockkit/sockkit/internal/clitest"
)

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// SkipMessage is what a test that needs the browser says when it is not
// installed.
const SkipMessage = "chromium not installed (Debian package chromium)"

// Timeout bounds everything done with the context [New] returns, from
// its start: a test whose page never shows what it waits for fails
// instead of hanging.
const Timeout = time.Minute

// Flags are the command-line flags the browser starts with, beside a
// temporary --user-data-dir: headless, no sandbox (tests may run as
// root, where Chromium's sandbox does not start), no GPU, no QUIC, and
// nothing that reaches the network on its own (first-run pages,
// background requests, component updates, sync).
var Flags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"disable-quic",
	"no-first-run",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
}

// Find returns the path of the chromium binary, or "" if it is not
// installed.
func Find() string {
	if fi, err := os.Stat(Path); err == nil && !fi.IsDir() {
		return Path
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// New starts a headless Chromium for t and returns a chromedp context for
// one tab of it, for [chromedp.Run] and [chromedp.Do]; it ends after
// [Timeout]. When t ends, a screenshot is saved if t failed, then the
// browser is closed and waited for. New skips t with [SkipMessage] if
// chromium is not installed, and fails t if it does not start.
//
// Options come after [Flags] and may add to them, such as [TrustKey]'s.
func New(t testing.TB, options ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	bin := Find()
	if bin == "" {
		t.Skip(SkipMessage)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir())}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	opts = append(opts, options...)
	out := &clitest.Buffer{} // the browser's output, for an error on start
	opts = append(opts, chromedp.CombinedOutput(out))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not run under a timeout,
	// which would end the browser with it.
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("browsertest: starting %s: %v\n%s", bin, err, out.String())
	}
	ctx, cancel := context.WithTimeout(tab, Timeout)
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			sctx, scancel := context.WithTimeout(tab, 10*time.Second)
			if p, err := save(sctx, t.ArtifactDir(), "failure"); err != nil {
				t.Logf("browsertest: no screenshot of the failure: %v", err)
			} else {
				t.Logf("browsertest: screenshot of the failure: %s", p)
			}
			scancel()
		}
		cancelTab()
		cancelAlloc() // waits for the browser to exit
	})
	return ctx
}

// Screenshot saves a PNG of what the tab of ctx (from [New]) shows, as
// name + ".png" in t's [testing.T.ArtifactDir], and returns its path. It
// fails t if it cannot.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	p, err := save(ctx, t.ArtifactDir(), name)
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	return p
}

// save captures the viewport of ctx's tab into dir/name.png.
func save(ctx context.Context, dir, name string) (string, error) {
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name+".png")
	return p, os.WriteFile(p, png, 0o644)
}

// TrustKey is the option for [New] that makes the browser accept the
// certificates, self-signed ones too, of the public key of cert, and no
// other certificate it would refuse: for a test server with a test
// certificate. (Chromium's --ignore-certificate-errors-spki-list, which
// takes effect with --user-data-dir, as New gives.)
func TrustKey(cert *x509.Certificate) chromedp.ExecAllocatorOption {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(sum[:]))
}
