package httpfetch

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// limiter returns the token bucket of one download, and the largest read
// it allows, or nil and 0 without [Client.RateLimit].
func (s *clientSettings) limiter() (*rate.Limiter, int) {
	if s.rateLimit <= 0 {
		return nil, 0
	}
	burst := int(min(max(s.rateLimit/8, 1), bufSize))
	return rate.NewLimiter(rate.Limit(s.rateLimit), burst), burst
}

// throttle waits until the download's bucket holds n tokens (n is at most
// the burst), for bytes just received.
func (d *download) throttle(ctx context.Context, n int) error {
	if d.lim == nil || n <= 0 {
		return nil
	}
	// The clock is read under the lock, so that the bucket sees the
	// times of its reservations in order, whatever the goroutines.
	d.limMu.Lock()
	now := d.c.clock()
	r := d.lim.ReserveN(now, n)
	d.limMu.Unlock()
	if !r.OK() { // n > burst: cannot happen, reads are capped
		return nil
	}
	wait := r.DelayFrom(now)
	if wait <= 0 {
		return nil
	}
	if err := d.c.wait(ctx, wait); err != nil {
		r.CancelAt(d.c.clock())
		return err
	}
	return nil
}

// wait waits for d, or until ctx ends (returning its cause); the test
// hook replaces the timer.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// clock is time.Now, or the test hook.
func (c *Client) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}
