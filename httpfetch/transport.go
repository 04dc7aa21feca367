package httpfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// init resolves the settings and makes the transport, once; Download
// reports a bad setting.
func (c *Client) init() {
	c.once.Do(func() {
		c.set, c.initErr = c.resolve()
		dial := c.Dial
		if dial == nil {
			dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		}
		c.tr = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dial,
			TLSClientConfig:     c.TLSConfig,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: c.set.parallel + 2,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			// Transparent gzip would make Content-Length and Content-Range
			// count bytes other than those we write: no ranged download
			// could be resumed or split correctly.
			DisableCompression: true,
			ReadBufferSize:     64 << 10,
		}
		c.hc = &http.Client{Transport: c.tr, CheckRedirect: c.checkRedirect}
	})
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	limit := c.set.maxRedirects
	if len(via) > limit {
		return &RedirectError{URL: req.URL.Redacted(), Reason: fmt.Sprintf("more than %d redirects", max(limit, 0))}
	}
	if !c.schemeAllowed(req.URL.Scheme) {
		return &RedirectError{URL: req.URL.Redacted(), Reason: "scheme " + req.URL.Scheme + " not allowed"}
	}
	// net/http keeps credentials on a redirect to the same host name on
	// another port; an origin is scheme, host and port, so drop them.
	if !sameOrigin(via[0].URL, req.URL) {
		for k := range req.Header {
			if sensitiveHeader(k) {
				req.Header.Del(k)
			}
		}
	}
	return nil
}

func (c *Client) schemeAllowed(s string) bool {
	schemes := c.RedirectSchemes
	if schemes == nil {
		schemes = []string{"http", "https"}
	}
	return slices.ContainsFunc(schemes, func(x string) bool { return strings.EqualFold(x, s) })
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// get sends a GET request, with a Range and If-Range if not empty, under
// a stall timer. The returned cancel must be called when the response is
// done with. A status other than 200, 206 or (for a range) 416 is
// returned as a *StatusError.
func (d *download) get(ctx context.Context, u, rng, ifRange string) (*http.Response, context.CancelFunc, error) {
	rctx, cancelCause := context.WithCancelCause(ctx)
	stall := d.set.stallTimeout
	timer := time.AfterFunc(stall, func() { cancelCause(ErrStalled) })
	cancel := func() {
		timer.Stop()
		cancelCause(context.Canceled)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, cancel, fmt.Errorf("httpfetch: %w", err)
	}
	orig, err := url.Parse(d.url)
	if err != nil {
		return nil, cancel, fmt.Errorf("httpfetch: %w", err)
	}
	sameOrigin := sameOrigin(orig, req.URL)
	for k, v := range d.c.Header {
		if !sameOrigin && sensitiveHeader(k) {
			continue
		}
		req.Header[k] = slices.Clone(v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", DefaultUserAgent)
	}
	req.Header.Set("Accept-Encoding", "identity")
	if rng != "" {
		req.Header.Set("Range", rng)
		if ifRange != "" {
			req.Header.Set("If-Range", ifRange)
		}
	}
	resp, err := d.c.hc.Do(req)
	if err != nil {
		if c := context.Cause(rctx); c == ErrStalled {
			err = fmt.Errorf("%w: %w", ErrStalled, err)
		}
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, cancel, re
		}
		return nil, cancel, err
	}
	resp.Body = &stallBody{ReadCloser: resp.Body, ctx: rctx, timer: timer, stall: stall}
	d.mu.Lock()
	if d.finalURL == "" {
		d.finalURL = resp.Request.URL.String()
	}
	d.mu.Unlock()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
		return resp, cancel, nil
	case http.StatusRequestedRangeNotSatisfiable:
		if rng != "" {
			return resp, cancel, nil
		}
	}
	io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	se := &StatusError{URL: d.safeURL, StatusCode: resp.StatusCode, Status: resp.Status}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		se.RetryAfter = ra
	}
	return nil, cancel, se
}

// stallBody rearms the stall timer as bytes arrive, and turns the
// cancellation it causes into ErrStalled.
type stallBody struct {
	io.ReadCloser
	ctx   context.Context
	timer *time.Timer
	stall time.Duration
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && context.Cause(b.ctx) == ErrStalled {
		err = fmt.Errorf("%w: %w", ErrStalled, err)
	}
	return n, err
}

// touch rearms the stall timer of a response body.
func touch(body io.ReadCloser) {
	if sb := stallOf(body); sb != nil {
		sb.timer.Reset(sb.stall)
	}
}

// hold stops the stall timer of a response body until the next touch.
func hold(body io.ReadCloser) {
	if sb := stallOf(body); sb != nil {
		sb.timer.Stop()
	}
}

func stallOf(body io.ReadCloser) *stallBody {
	if cb, ok := body.(*cancelBody); ok {
		body = cb.ReadCloser
	}
	sb, _ := body.(*stallBody)
	return sb
}

// sensitiveHeader reports the headers that carry credentials, which
// net/http drops when it follows a redirect to another host.
func sensitiveHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "Proxy-Authorization", "Www-Authenticate", "Cookie", "Cookie2":
		return true
	}
	return false
}

// sameOrigin reports whether u, where a request goes after a redirect,
// has the origin of orig: the same host and port, and no downgrade from
// https to http. Requests elsewhere go without [Client.Header]'s
// credentials: a mirror the origin redirects to must not learn them.
func sameOrigin(orig, u *url.URL) bool {
	if orig.Scheme == "https" && u.Scheme != "https" {
		return false
	}
	return strings.EqualFold(orig.Host, u.Host)
}

// redact returns rawURL with any password replaced, for results and logs.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
