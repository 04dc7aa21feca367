package cli

import (
	"errors"
	"flag"
	"io"
	"log/slog"

	"github.com/sockkit/sockkit"
)

// LogFlags are -v and -log, the logging flags of the commands that log:
// records go to stderr, from info level (or debug with -v), as text or as
// JSON.
type LogFlags struct {
	// Verbose is -v: debug records too.
	Verbose bool
	// Format is -log: "text" (the default) or "json".
	Format LogFormat
}

// Logging registers -v and -log on fs and returns where they are kept.
func Logging(fs *flag.FlagSet) *LogFlags {
	l := &LogFlags{Format: "text"}
	fs.BoolVar(&l.Verbose, "v", false, "log debug records too (refused connections, dropped datagrams)")
	fs.Var(&l.Format, "log", "log `format` on stderr: text or json")
	return l
}

// Logger returns a logger writing to w as the flags say.
func (l *LogFlags) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if l.Verbose {
		opts.Level = slog.LevelDebug
	}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// LogFormat is the value of -log: "text" or "json".
type LogFormat string

func (f *LogFormat) String() string { return string(*f) }

// Set accepts "text" and "json".
func (f *LogFormat) Set(s string) error {
	switch s {
	case "text", "json":
		*f = LogFormat(s)
		return nil
	}
	return errors.New("want text or json")
}

// Summary logs, at info level, what a server did in all, from its
// counters: the line a server's command logs when it stops.
func Summary(logger *slog.Logger, prog string, c sockkit.Counters) {
	if logger == nil {
		return
	}
	d := c.Dropped
	logger.Info(prog+": summary",
		"conns_total", c.ConnsTotal, "conns_open", c.Conns, "requests", c.Requests,
		"bytes_in", c.BytesIn, "bytes_out", c.BytesOut,
		slog.Group("dropped", "full", d.Full, "source_full", d.SourceFull, "rate", d.Rate,
			"oversize", d.Oversize, "port", d.Port, "malformed", d.Malformed,
			"amplification", d.Amplification, "idle", d.Idle, "slow", d.Slow))
}
