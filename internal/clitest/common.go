package clitest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/cli"
)

// CheckCommon checks, in-process, what every program prog (run) shares:
// prog -version prints its version; a mistake on the serve command line
// is a usage error (exit 2) told in a few lines that end with the hint
// to run serve -h; serve -h lists -v, -log, -metrics and -pprof, the
// environment variables and the exit statuses, and is not a mistake.
func CheckCommon(t *testing.T, prog string, run cli.Run) {
	t.Helper()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"-version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), prog+" ") || !strings.Contains(out.String(), "module github.com/sockkit/sockkit") {
		t.Errorf("%s -version: %v, printed %q", prog, err, out.String())
	}

	out.Reset()
	errOut.Reset()
	err := run(ctx, []string{"serve", "-no-such-flag"}, &out, &errOut)
	if !errors.Is(err, cli.ErrUsage) {
		t.Errorf("%s serve -no-such-flag: %v, want a usage error", prog, err)
	}
	msg := errOut.String()
	if !strings.HasPrefix(msg, "flag provided but not defined: -no-such-flag\nusage: "+prog+" serve ") ||
		!strings.HasSuffix(msg, "run '"+prog+" serve -h' for help\n") || strings.Count(msg, "\n") > 6 {
		t.Errorf("%s serve -no-such-flag printed:\n%s", prog, msg)
	}

	errOut.Reset()
	if err := run(ctx, []string{"serve", "-h"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("%s serve -h: %v, want flag.ErrHelp (exit 0)", prog, err)
	}
	env := cli.EnvName(prog+" serve", "addr")
	for _, want := range []string{"  -v\t", "  -log format", "  -metrics ADDR", "  -pprof", env, "Exit status: 0 success, 1 failure, 2 mistake"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("%s serve -h lacks %q:\n%s", prog, want, errOut.String())
		}
	}

	out.Reset()
	if err := run(ctx, []string{"-h"}, &out, &errOut); err != nil || !strings.Contains(out.String(), prog+" -version") || !strings.Contains(out.String(), "-metrics ADDR") {
		t.Errorf("%s -h: %v\n%s", prog, err, out.String())
	}
}
