package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary play our client when the bench runs it
// as a child process.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := child(context.Background(), spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun runs the whole bench on a 4 MiB file, once per figure. Tools
// that are missing are skipped by the bench itself.
func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-size", "4MiB", "-rounds", "1", "-parallel", "2"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
	}
	t.Logf("\n%s", out.String())
	for _, want := range []string{"httpfetch.Client, 1 stream", "httpfetch.Server"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure", want)
		}
	}
	if strings.Contains(out.String(), "failed") {
		t.Errorf("a transfer failed")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "256MiB": 256 << 20, "4KiB": 4096, "100": 100} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "x", "-1MiB", "1TB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
