package chat

import (
	"context"
	"testing"

	"github.com/sockkit/sockkit/internal/browsertest"
)

// TestBrowserTLS opens the page over https in headless Chromium, which
// trusts the test certificate's key alone; the page opens its socket
// over wss (an https page may not open ws://) and talks with a Go client
// on the TLS line port.
func TestBrowserTLS(t *testing.T) {
	t.Parallel()
	if browsertest.Find() == "" {
		t.Skip(browsertest.SkipMessage)
	}
	r, stop := startTLS(t, &Server{})
	defer stop()
	browser := browsertest.New(t, browsertest.TrustKey(r.cert.TLS.Leaf))

	gc, err := r.client().Join(context.Background(), r.plain, "gopher")
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	gopher := &goUser{t, gc}

	page := openPage(t, browser, r.https.URL+"/", "ann")
	if got := eval[string](page, `location.protocol`); got != "https:" {
		t.Errorf("the page's protocol is %q, want https:", got)
	}
	gopher.until(Event{Kind: KindJoin, Room: "lobby", Nick: "ann"})
	page.say("hello over wss")
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: "ann", Text: "hello over wss"})
	if err := gc.Say(context.Background(), "hello page"); err != nil {
		t.Fatal(err)
	}
	page.waitLine("<gopher> hello page")
}
