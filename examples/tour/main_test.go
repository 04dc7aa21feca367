package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTour(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), nil, &out, &errOut); err != nil {
		t.Fatalf("tour failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	for _, s := range stops {
		if !strings.Contains(out.String(), "== "+s.name+" ==") {
			t.Errorf("transcript has no %s section", s.name)
		}
	}
	if !strings.Contains(out.String(), "tour done") {
		t.Errorf("transcript does not end with the summary:\n%s", out.String())
	}
	t.Logf("transcript:\n%s", out.String())
}

func TestTourRejectsArguments(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"x"}, &out, &errOut); err == nil {
		t.Fatal("tour accepted an argument")
	}
}
