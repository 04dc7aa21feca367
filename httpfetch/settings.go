package httpfetch

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/sockkit/sockkit/internal/opt"
)

// clientSettings are the resolved fields of a Client.
type clientSettings struct {
	parallel     int
	maxRedirects int // negative: none
	retries      int // 0: none
	minPartSize  int64
	maxSize      int64 // negative: no limit
	rateLimit    int64 // 0: no limit
	retryWait    time.Duration
	maxRetryWait time.Duration
	stallTimeout time.Duration
	progressGap  time.Duration
	stateEvery   time.Duration
}

// resolve resolves the fields of c, with the rule of internal/opt: zero
// is the default, a negative value is "no limit" or "none" where the
// field says so, and anything else out of range is an error naming the
// field.
func (c *Client) resolve() (clientSettings, error) {
	r := opt.New("httpfetch")
	s := clientSettings{
		parallel:     opt.AtMost(r, "Parallel", c.Parallel, DefaultParallel, MaxParallel),
		maxRedirects: opt.Unlimited(r, "MaxRedirects", c.MaxRedirects, DefaultMaxRedirects),
		retries:      max(opt.Unlimited(r, "Retries", c.Retries, DefaultRetries), 0),
		minPartSize:  opt.Default(r, "MinPartSize", c.MinPartSize, DefaultMinPartSize),
		maxSize:      opt.Unlimited(r, "MaxSize", c.MaxSize, DefaultMaxSize),
		rateLimit:    opt.Default(r, "RateLimit", c.RateLimit, 0),
		retryWait:    opt.Default(r, "RetryWait", c.RetryWait, DefaultRetryWait),
		maxRetryWait: opt.Default(r, "MaxRetryWait", c.MaxRetryWait, DefaultMaxRetryWait),
		stallTimeout: opt.Default(r, "StallTimeout", c.StallTimeout, DefaultStallTimeout),
		progressGap:  opt.Default(r, "ProgressInterval", c.ProgressInterval, DefaultProgressInterval),
		stateEvery:   opt.Or(c.stateEvery, stateInterval),
	}
	for k, vs := range c.Header {
		switch {
		case !httpguts.ValidHeaderFieldName(k):
			r.Fail("Header", strconv.Quote(k), "is not a valid header name")
		case slices.Contains(reservedHeaders, http.CanonicalHeaderKey(k)):
			r.Fail("Header", http.CanonicalHeaderKey(k), "is set by the client itself")
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				r.Fail("Header", http.CanonicalHeaderKey(k), "has a value with a control character")
				break
			}
		}
	}
	return s, r.Err()
}

// reservedHeaders are the request headers that [Client.Header] must not
// set: those the client sets for ranges and resume, and those that frame
// the message or the connection, which net/http manages.
var reservedHeaders = []string{
	"Host", "Range", "If-Range", "Accept-Encoding",
	"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Proxy-Connection", "Te", "Trailer", "Upgrade", "Expect",
}
