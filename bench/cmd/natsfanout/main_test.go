package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLoad runs a tiny load against an in-process NATS server: it checks
// the tool works, not how fast anything is.
func TestLoad(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-load", "5:20", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"nats/n5/r20/sent ", "/delivered ", "/expected ", "/p50 ", "/p99 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure in:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-load", "x"}, {"-load", "10:0"}, {"-nope"}} {
		if err := run(context.Background(), args, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
