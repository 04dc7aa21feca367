package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLoad runs a tiny load against an in-process server: it checks the
// tool works, not how fast anything is.
func TestLoad(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-load", "5:20", "-stall", "0.2", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"/sent ", "/delivered ", "/expected ", "/p50 ", "/p99 ", "/kicked ", "/mem_go "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure in:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

// TestLoadTwoServers runs the two-server point in-process: two servers
// that share the lobby through an embedded NATS server.
func TestLoadTwoServers(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-servers", "2", "-load", "6:20", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"chat/n6/r20/servers2/delivered ", "chat/n6/r20/servers2/p99 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure in:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-load", "x"}, {"-load", "10:0"}, {"-stall", "1"}, {"-servers", "3"}, {"-nope"}} {
		if err := run(context.Background(), args, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
