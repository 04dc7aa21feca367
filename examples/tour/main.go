// Command tour runs every protocol of sockkit live on loopback: it starts
// each server on a port the kernel chooses, runs the matching client
// against it, prints a short transcript, shuts everything down and exits.
//
//	go run ./examples/tour
//
// Each package adds its stop in a file of its own (echo.go, chat.go, ...)
// with [register]; stops run in the order of their number.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"
)

// A stop is one protocol's part of the tour.
type stop struct {
	order int
	name  string
	run   func(ctx context.Context, w io.Writer) error
}

var stops []stop

// register adds a stop to the tour. It is called from init functions.
func register(order int, name string, run func(ctx context.Context, w io.Writer) error) {
	stops = append(stops, stop{order, name, run})
}

// stopTimeout bounds each stop, so that a hang fails the tour instead of
// stalling it.
const stopTimeout = 30 * time.Second

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: tour (no arguments)")
		return errors.New("tour takes no arguments")
	}
	sort.SliceStable(stops, func(i, j int) bool { return stops[i].order < stops[j].order })
	names := make([]string, len(stops))
	for i, s := range stops {
		names[i] = s.name
	}
	fmt.Fprintf(stdout, "sockkit tour: %s, all on loopback\n", strings.Join(names, ", "))
	for _, s := range stops {
		fmt.Fprintf(stdout, "\n== %s ==\n", s.name)
		sctx, cancel := context.WithTimeout(ctx, stopTimeout)
		err := s.run(sctx, stdout)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	fmt.Fprintln(stdout, "\ntour done: every server shut down cleanly")
	return nil
}
