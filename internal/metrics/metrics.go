// Package metrics serves a server's counters to Prometheus, for the
// programs under examples/ only: it is the one package that imports
// github.com/prometheus/client_golang, and no protocol package imports
// it, so that using sockkit as a library pulls in no Prometheus.
//
// A server command registers its flags with [Register] (-v and -log of
// [cli.Logging], -metrics ADDR and -pprof), and calls [Flags.Start] once
// its Server exists. With -metrics, Start serves /metrics on ADDR from a
// [Collector] that reads the Server's Stats at each scrape (nothing is
// counted twice), the Go runtime's and the process's collectors beside
// it; -pprof adds net/http/pprof's /debug/pprof/ on the same listener.
// The func Start returns stops that listener and logs the server's
// summary ([cli.Summary]).
//
// # Metrics
//
// Every server exports the same names, from the counters every sockkit
// server has ([sockkit.Counters]), with a constant label server="PROG":
//
//	sockkit_connections                 gauge    Conns: connections (members, sessions) open now
//	sockkit_connections_accepted_total  counter  ConnsTotal
//	sockkit_requests_total              counter  Requests
//	sockkit_received_bytes_total        counter  BytesIn
//	sockkit_sent_bytes_total            counter  BytesOut
//	sockkit_dropped_total{reason=...}   counter  Dropped, by reason: full, source_full, rate,
//	                                             oversize, port, malformed, amplification, idle, slow
//
// What each counts for a protocol is said by its package's Stats type.
package metrics

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/cli"
)

// Flags are the flags of a server command: -v and -log, -metrics ADDR and
// -pprof.
type Flags struct {
	*cli.LogFlags
	// Addr is -metrics: where to serve /metrics; empty for nowhere.
	Addr string
	// Pprof is -pprof: serve /debug/pprof/ beside /metrics.
	Pprof bool

	fs *flag.FlagSet
}

// Register registers the flags on fs and returns where they are kept.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{LogFlags: cli.Logging(fs), fs: fs}
	fs.StringVar(&f.Addr, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics")
	fs.BoolVar(&f.Pprof, "pprof", false, "with -metrics, also serve /debug/pprof/ there")
	return f
}

// Start serves the metrics of the server named prog, read from stats at
// each scrape, on -metrics ADDR (and pprof with -pprof), printing where
// to stdout; without -metrics it serves nothing. The func it returns
// stops serving and logs the summary of stats to logger; call it once the
// server has stopped. A listener that cannot be opened is an error, and
// -pprof without -metrics a usage mistake ([cli.ErrUsage]).
func (f *Flags) Start(prog string, stdout io.Writer, logger *slog.Logger, stats func() sockkit.Counters) (stop func(), err error) {
	summary := func() { cli.Summary(logger, prog, stats()) }
	if f.Addr == "" {
		if f.Pprof {
			return nil, cli.Usagef(f.fs, "-pprof needs -metrics ADDR")
		}
		return summary, nil
	}
	l, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector(prog, stats),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	what := fmt.Sprintf("http://%s/metrics", l.Addr())
	if f.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		// Not /debug/pprof/cmdline: a command line can hold secrets
		// (a password in a -nats URL, say).
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		what += fmt.Sprintf(" and http://%s/debug/pprof/", l.Addr())
	}
	// No WriteTimeout: a CPU profile or trace takes as long as it was
	// asked to. Idle keep-alive connections are closed.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	if logger != nil {
		hs.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
		if ap, err := netip.ParseAddrPort(l.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
			logger.Warn(prog+": -metrics listens beyond this machine, and /metrics (and /debug/pprof) have no authentication: prefer a loopback address, or a firewall", "addr", l.Addr().String())
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(l)
	}()
	fmt.Fprintf(stdout, "%s: metrics on %s\n", prog, what)
	return func() {
		// A scrape in progress gets a moment; a profile being taken
		// does not hold the program up.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		hs.Shutdown(ctx)
		cancel()
		hs.Close()
		<-done
		summary()
	}, nil
}

// collector reads a server's counters at each scrape.
type collector struct {
	stats                                    func() sockkit.Counters
	conns, accepted, requests, bytesIn, outs *prometheus.Desc
	dropped                                  *prometheus.Desc
}

// Collector returns a prometheus.Collector of the counters that stats
// returns, read once per scrape, labelled server=server. See the package
// doc for the names.
func Collector(server string, stats func() sockkit.Counters) prometheus.Collector {
	labels := prometheus.Labels{"server": server}
	desc := func(name, help string, varLabels ...string) *prometheus.Desc {
		return prometheus.NewDesc("sockkit_"+name, help, varLabels, labels)
	}
	return &collector{
		stats:    stats,
		conns:    desc("connections", "Connections (for datagram servers: members or sessions) open now."),
		accepted: desc("connections_accepted_total", "Connections accepted (members admitted) since the server started."),
		requests: desc("requests_total", "Units of work done: lines, requests, round trips or datagrams, as the package documents."),
		bytesIn:  desc("received_bytes_total", "Payload bytes read."),
		outs:     desc("sent_bytes_total", "Payload bytes written."),
		dropped:  desc("dropped_total", "What the server refused, by reason.", "reason"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.accepted, c.requests, c.bytesIn, c.outs, c.dropped} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.Conns))
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.accepted, s.ConnsTotal)
	counter(c.requests, s.Requests)
	counter(c.bytesIn, s.BytesIn)
	counter(c.outs, s.BytesOut)
	d := s.Dropped
	for _, r := range []struct {
		reason string
		n      int64
	}{
		{"full", d.Full}, {"source_full", d.SourceFull}, {"rate", d.Rate}, {"oversize", d.Oversize},
		{"port", d.Port}, {"malformed", d.Malformed}, {"amplification", d.Amplification},
		{"idle", d.Idle}, {"slow", d.Slow},
	} {
		counter(c.dropped, r.n, r.reason)
	}
}
