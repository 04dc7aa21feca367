package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockkit/sockkit/internal/browsertest"
)

// These tests open the page in headless Chromium (Debian package
// chromium) and use it as a person would: type a nickname, press Enter,
// read the room. A failing test leaves a screenshot of its first tab in
// its artifact directory (go test -artifacts).

// tab is one tab of the browser, on the chat page.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// newTab opens a second tab in the browser of first (browsertest.New's
// tab, the one screenshot when a test fails).
func newTab(t *testing.T, first context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(first)
	t.Cleanup(cancel)
	return ctx
}

// openPage opens url in the tab ctx and joins as nick.
func openPage(t *testing.T, ctx context.Context, url, nick string) *tab {
	t.Helper()
	p := &tab{t: t, ctx: ctx}
	p.do(chromedp.EmulateViewport(1000, 640), chromedp.Navigate(url))
	p.join(nick)
	return p
}

// join types nick into the form and waits until the server has
// welcomed it.
func (p *tab) join(nick string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID("nick")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("nick").value = ""`),
		chromedp.SendKeys(chromedp.ID("nick"), nick+"\r"))
	p.poll(`(want) => document.getElementById("status").textContent === want`, "connected as "+nick)
	p.poll(`() => document.getElementById("room").textContent !== ""`)
}

func (p *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// say types line into the input and presses Enter.
func (p *tab) say(line string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.ID("line"), line+"\r"))
}

// waitLine waits for a line of the log whose text is want.
func (p *tab) waitLine(want string) {
	p.t.Helper()
	p.poll(`(want) => [...document.querySelectorAll("#log div")].some((d) => d.textContent === want)`, want)
}

// poll waits until the JavaScript function fn, given args, returns true.
func (p *tab) poll(fn string, args ...any) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.PollFunction[bool](fn,
		chromedp.WithPollingArgs(args...), chromedp.WithPollingTimeout(hang)))
	if err != nil {
		log, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("log").innerText`))
		status, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
		p.t.Fatalf("waiting for %s %q: %v\nthe page's status: %s; its log:\n%s", fn, args, err, status, log)
	}
}

func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestBrowser puts two pages and an nc user in one room.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := browsertest.New(t)
	w, stop := startWeb(t, &Server{}, nil)
	defer stop()

	nc := loginOn(t, dialRaw(t, w.tcp), "nc")
	ann := openPage(t, browser, w.http.URL+"/", "ann")
	nc.expect("JOIN lobby ann")
	bob := openPage(t, newTab(t, browser), w.http.URL+"/", "bob")
	nc.expect("JOIN lobby bob")
	ann.waitLine("-- bob joined lobby")

	ann.say("hello from ann")
	nc.expect("MSG lobby ann hello from ann")
	bob.waitLine("<ann> hello from ann")
	bob.say("and bob")
	nc.expect("MSG lobby bob and bob")
	ann.waitLine("<bob> and bob")
	nc.send("hi pages\n")
	nc.expect("MSG lobby nc hi pages")
	ann.waitLine("<nc> hi pages")
	bob.waitLine("<nc> hi pages")

	// The user list follows the room, and the room's name is shown.
	for _, p := range []*tab{ann, bob} {
		p.poll(`() => [...document.querySelectorAll("#users li")].map((li) => li.textContent).join(" ") === "ann bob nc"`)
		if got := eval[string](p, `document.getElementById("room").textContent`); got != "#lobby" {
			t.Errorf("room shown as %q, want #lobby", got)
		}
	}
	browsertest.Screenshot(t, ann.ctx, "three-users")

	// Text is text: markup from a peer is shown as typed, and nothing of
	// it runs or loads.
	for _, p := range []*tab{ann, bob} {
		p.do(chromedp.Evaluate[chromedp.Void](`window.violations = 0; document.addEventListener("securitypolicyviolation", () => window.violations++)`))
	}
	xss := `<img src=x onerror=alert(1)> <script>alert(2)</script> &amp;`
	nc.send(xss + "\n")
	nc.expect("MSG lobby nc " + xss)
	for _, p := range []*tab{ann, bob} {
		p.waitLine("<nc> " + xss)
		if n := eval[int](p, `document.querySelectorAll("#log img, #log script").length + window.violations`); n != 0 {
			t.Errorf("the message made %d elements or policy violations", n)
		}
	}

	// Commands are typed as with nc.
	bob.say("/msg ann psst")
	ann.waitLine("(private) bob \u2192 ann: psst")
	bob.waitLine("(private) bob \u2192 ann: psst")
	bob.say("/who")
	bob.waitLine("-- in lobby: ann bob nc")
	ann.say("/join ops")
	nc.expect("PART lobby ann")
	ann.waitLine("-- you are in ops")
	ann.poll(`() => document.getElementById("room").textContent === "#ops"`)
	ann.poll(`() => [...document.querySelectorAll("#users li")].map((li) => li.textContent).join(" ") === "ann"`)
	bob.poll(`() => [...document.querySelectorAll("#users li")].map((li) => li.textContent).join(" ") === "bob nc"`)
	ann.say("/quit lunch")
	ann.waitLine("-- disconnected: goodbye (quit)")
	ann.poll(`() => !document.getElementById("join-form").hidden`)
	if got := eval[string](ann, `document.getElementById("status").textContent`); got != "disconnected (quit)" {
		t.Errorf("status after /quit: %q", got)
	}
	// Joining again after a /quit starts afresh, in the lobby.
	ann.join("ann")
	nc.expect("JOIN lobby ann")
	ann.poll(`() => document.getElementById("room").textContent === "#lobby"`)
}

// TestBrowserPhone checks that the page fits a phone's screen.
func TestBrowserPhone(t *testing.T) {
	t.Parallel()
	browser := browsertest.New(t)
	w, stop := startWeb(t, &Server{}, nil)
	defer stop()
	p := &tab{t: t, ctx: browser}
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)), chromedp.Navigate(w.http.URL+"/"))
	p.join("phone")
	nc := loginOn(t, dialRaw(t, w.tcp), "nc")
	nc.send("a long line from nc, " + strings.Repeat("long ", 40) + "https://example.com/" + strings.Repeat("x", 80) + "\n")
	p.waitLine("-- nc joined lobby")
	p.say("hello from a phone")
	nc.until("MSG lobby phone hello from a phone")
	p.waitLine("<phone> hello from a phone")
	if n := eval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); n > 0 {
		t.Errorf("the page is %d px wider than the phone's screen", n)
	}
	for _, id := range []string{"line", "send", "users"} {
		inside := eval[bool](p, fmt.Sprintf(`(() => { const r = document.getElementById(%q).getBoundingClientRect(); `+
			`return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight; })()`, id))
		if !inside {
			t.Errorf("#%s is not on the screen", id)
		}
	}
	browsertest.Screenshot(t, p.ctx, "phone")
}

// TestBrowserOtherOrigin opens a page of another site (another port is
// another origin) that tries to open a socket to the chat server in its
// visitor's name: the handshake is refused, unless OriginPatterns lets
// that site in.
func TestBrowserOtherOrigin(t *testing.T) {
	t.Parallel()
	browser := browsertest.New(t)
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allow), func(t *testing.T) {
			evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(rw, `<!doctype html><title>other site</title><script>
const s = new WebSocket(%q);
s.onopen = () => { document.title = "open"; };
s.onmessage = (e) => { document.title = "open: " + e.data; s.close(); };
s.onerror = () => { document.title = "error"; };
</script>`, "ws"+strings.TrimPrefix(r.URL.Query().Get("chat"), "http")+"/ws")
			}))
			defer evil.Close()
			ws := new(WebSocket)
			if allow {
				ws.OriginPatterns = []string{strings.TrimPrefix(evil.URL, "http://")}
			}
			srv := &Server{}
			w, stop := startWeb(t, srv, ws)
			defer stop()
			p := &tab{t: t, ctx: browser}
			p.do(chromedp.Navigate(evil.URL + "/?chat=" + w.http.URL))
			if allow {
				p.poll(`() => document.title.startsWith("open: HELLO ")`)
				return
			}
			p.poll(`() => document.title === "error"`)
			if n := srv.Stats().ConnsTotal; n != 0 {
				t.Errorf("%d connections accepted from the other site", n)
			}
		})
	}
}

// TestBrowserReconnect restarts the server under an open page: the page
// comes back by itself, with its nickname and room.
func TestBrowserReconnect(t *testing.T) {
	t.Parallel()
	browser := browsertest.New(t)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := hl.Addr().String()

	// serve runs a chat server whose only listener is the web one.
	serve := func(hl net.Listener) (srv *Server, stop func()) {
		srv = &Server{}
		ws := new(WebSocket)
		mux := http.NewServeMux()
		mux.Handle("GET /{$}", WebPage())
		mux.Handle("GET /ws", ws)
		hs := &http.Server{Handler: mux}
		errc := make(chan error, 2)
		go func() { errc <- srv.Serve(context.Background(), ws) }()
		go func() { errc <- hs.Serve(hl) }()
		return srv, func() {
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			defer cancel()
			srv.Shutdown(ctx)
			hs.Close() // as chat serve does: see there
			for range 2 {
				if err := <-errc; !errors.Is(err, ErrServerClosed) && !errors.Is(err, http.ErrServerClosed) {
					t.Errorf("Serve returned %v", err)
				}
			}
		}
	}
	_, stop := serve(hl)
	p := &tab{t: t, ctx: browser}
	p.do(chromedp.Navigate("http://" + addr + "/"))
	p.join("ann")
	p.say("/join ops")
	p.waitLine("-- you are in ops")
	stop()
	p.waitLine("-- disconnected: server shutting down (shutdown)")

	hl, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	_, stop = serve(hl)
	defer stop()
	p.poll(`() => document.getElementById("status").textContent === "connected as ann"`)
	p.poll(`() => document.getElementById("room").textContent === "#ops"`)
	if n := eval[int](p, `[...document.querySelectorAll("#log div")].filter((d) => d.textContent === "-- you are in ops").length`); n != 2 {
		t.Errorf("the page says %d times that it is in ops, want twice (before and after the restart)", n)
	}
	p.say("back again")
	p.waitLine("<ann> back again")
}
