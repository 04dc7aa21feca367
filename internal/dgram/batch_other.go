//go:build !linux

package dgram

// batch moves many datagrams per system call; only on Linux.
type batch struct{}

func newBatch(*conn, int) *batch { return nil }

func serveBatch(c *conn, _ *batch, cfg *Config, w *Writer, h Handler) error {
	return serveSingle(c, cfg, w, h)
}

// write sends the queued datagrams one by one.
func (c *conn) write(q []pending, cfg *Config) {
	for _, p := range q {
		cfg.sent(p, c.writeOne(p.b, p.to))
	}
}
