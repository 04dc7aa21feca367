package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/sockkit/sockkit"
)

const testUsage = `usage:
  prog serve [-addr 127.0.0.1:1] [-rate N]
             [-burst N]
  prog send [-addr 127.0.0.1:1] MESSAGE
`

func TestVersionLine(t *testing.T) {
	tests := []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sockkit/sockkit", Version: "v1.2.3"}},
			"prog v1.2.3 (go1.26.0), module github.com/sockkit/sockkit"},
		{debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "m", Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}},
			"prog (devel) (revision 0123456789ab, 2026-01-02T03:04:05Z, modified, go1.26.0), module m"},
		{debug.BuildInfo{}, "prog (devel)"},
	}
	for _, tt := range tests {
		if got := versionLine("prog", &tt.bi); got != tt.want {
			t.Errorf("versionLine = %q, want %q", got, tt.want)
		}
	}
}

func TestDispatchVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var out, errOut bytes.Buffer
		err := Dispatch(context.Background(), "prog", testUsage, Commands{}, []string{arg}, &out, &errOut)
		if err != nil || !strings.HasPrefix(out.String(), "prog ") || errOut.Len() > 0 {
			t.Errorf("%s: %v, stdout %q, stderr %q", arg, err, out.String(), errOut.String())
		}
	}
}

func TestDispatchHelpDocumentsEnvAndExit(t *testing.T) {
	var out bytes.Buffer
	cmds := Commands{"serve": func(context.Context, []string, io.Writer, io.Writer) error { return nil }}
	if err := Dispatch(context.Background(), "prog", testUsage, cmds, []string{"-h"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prog -version", "SOCKKIT_PROG_SERVE_ADDR", "Exit status: 0", "2 mistake"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDispatchMistakeIsShort(t *testing.T) {
	var errOut bytes.Buffer
	err := Dispatch(context.Background(), "prog", testUsage, Commands{}, []string{"bogus"}, io.Discard, &errOut)
	want := "prog: unknown command \"bogus\"\n" + testUsage + "run 'prog -h' for help\n"
	if !errors.Is(err, ErrUsage) || errOut.String() != want {
		t.Errorf("got %v and\n%s\nwant\n%s", err, errOut.String(), want)
	}
}

func newTestFlags(errOut io.Writer) (*flag.FlagSet, *string, *int) {
	fs := FlagSet("prog", "serve", testUsage, errOut)
	return fs, fs.String("addr", "127.0.0.1:1", "`address`"), fs.Int("burst-size", 1, "burst")
}

func TestParseMistakeIsShort(t *testing.T) {
	var errOut bytes.Buffer
	fs, _, _ := newTestFlags(&errOut)
	if err := Parse(fs, []string{"-bogus"}, 0, 0); !errors.Is(err, ErrUsage) {
		t.Fatalf("Parse = %v", err)
	}
	want := "flag provided but not defined: -bogus\n" +
		"usage: prog serve [-addr 127.0.0.1:1] [-rate N]\n" +
		"                  [-burst N]\n" +
		"run 'prog serve -h' for help\n"
	if errOut.String() != want {
		t.Errorf("got\n%s\nwant\n%s", errOut.String(), want)
	}
	// A command's own check calls Usage: short too.
	errOut.Reset()
	fs.Usage()
	if strings.Contains(errOut.String(), "flags of") || !strings.Contains(errOut.String(), "-h' for help") {
		t.Errorf("Usage printed %q", errOut.String())
	}
}

func TestParseHelpIsFull(t *testing.T) {
	var errOut bytes.Buffer
	fs, _, _ := newTestFlags(&errOut)
	if err := Parse(fs, []string{"-h"}, 0, 0); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse = %v", err)
	}
	for _, want := range []string{testUsage, "flags of prog serve:", "-addr address", "SOCKKIT_PROG_SERVE_ADDR for -addr", "Exit status"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, errOut.String())
		}
	}
	if strings.Contains(errOut.String(), "for help") {
		t.Errorf("help has the hint of a mistake:\n%s", errOut.String())
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("httpfetch get", "limit-rate"); got != "SOCKKIT_HTTPFETCH_GET_LIMIT_RATE" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestParseFromEnv(t *testing.T) {
	t.Setenv("SOCKKIT_PROG_SERVE_ADDR", "127.0.0.1:2")
	t.Setenv("SOCKKIT_PROG_SERVE_BURST_SIZE", "7")
	fs, addr, burst := newTestFlags(io.Discard)
	if err := Parse(fs, nil, 0, 0); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:2" || *burst != 7 {
		t.Errorf("from the environment: -addr %q -burst-size %d", *addr, *burst)
	}
	set := 0
	fs.Visit(func(*flag.Flag) { set++ })
	if set != 2 {
		t.Errorf("%d flags count as set, want 2", set)
	}
	// The command line wins.
	fs, addr, _ = newTestFlags(io.Discard)
	if err := Parse(fs, []string{"-addr", "127.0.0.1:3"}, 0, 0); err != nil || *addr != "127.0.0.1:3" {
		t.Errorf("Parse = %v, -addr %q, want the command line's", err, *addr)
	}
	// A variable of another command does not count.
	fs = FlagSet("prog", "send", testUsage, io.Discard)
	sendAddr := fs.String("addr", "127.0.0.1:1", "")
	if err := Parse(fs, []string{"x"}, 1, 1); err != nil || *sendAddr != "127.0.0.1:1" {
		t.Errorf("prog send: %v, -addr %q", err, *sendAddr)
	}
}

func TestParseBadEnvIsUsageError(t *testing.T) {
	t.Setenv("SOCKKIT_PROG_SERVE_BURST_SIZE", "many")
	var errOut bytes.Buffer
	fs, _, _ := newTestFlags(&errOut)
	if err := Parse(fs, nil, 0, 0); !errors.Is(err, ErrUsage) || !strings.Contains(errOut.String(), "SOCKKIT_PROG_SERVE_BURST_SIZE") {
		t.Errorf("Parse = %v, stderr %q", err, errOut.String())
	}
	if strings.Contains(errOut.String(), `"many"`) {
		t.Errorf("stderr %q repeats the value, which may be a secret", errOut.String())
	}
}

// TestParseAgainKeepsCommandLine: a command that parses in several calls
// (flags after a positional argument) keeps the command line's values;
// the environment is applied once, before the first.
func TestParseAgainKeepsCommandLine(t *testing.T) {
	t.Setenv("SOCKKIT_PROG_SERVE_ADDR", "127.0.0.1:2")
	fs, addr, burst := newTestFlags(io.Discard)
	if err := Parse(fs, []string{"-addr", "127.0.0.1:3", "HOST", "-burst-size", "4"}, 0, -1); err != nil {
		t.Fatal(err)
	}
	if err := Parse(fs, fs.Args()[1:], 0, -1); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:3" || *burst != 4 {
		t.Errorf("after two calls: -addr %q -burst-size %d, want the command line's 127.0.0.1:3 and 4", *addr, *burst)
	}
}

func TestDisplayedName(t *testing.T) {
	defer func(old string) { invoked = old }(invoked)
	invoked = "sockkit-prog"
	var errOut bytes.Buffer
	fs, _, _ := newTestFlags(&errOut)
	Parse(fs, []string{"-bogus"}, 0, 0)
	want := "flag provided but not defined: -bogus\n" +
		"usage: sockkit-prog serve [-addr 127.0.0.1:1] [-rate N]\n" +
		"                          [-burst N]\n" +
		"run 'sockkit-prog serve -h' for help\n"
	if errOut.String() != want {
		t.Errorf("got\n%s\nwant\n%s", errOut.String(), want)
	}
	if got := Version("prog"); !strings.HasPrefix(got, "sockkit-prog ") {
		t.Errorf("Version = %q", got)
	}
}

func TestLogging(t *testing.T) {
	tests := []struct {
		args       []string
		json       bool
		debugShown bool
	}{
		{nil, false, false},
		{[]string{"-v"}, false, true},
		{[]string{"-log", "json"}, true, false},
		{[]string{"-v", "-log", "json"}, true, true},
	}
	for _, tt := range tests {
		fs := FlagSet("prog", "serve", testUsage, io.Discard)
		lf := Logging(fs)
		if err := Parse(fs, tt.args, 0, 0); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		l := lf.Logger(&buf)
		l.Debug("a debug record")
		l.Info("an info record", "n", 1)
		out := buf.String()
		if strings.Contains(out, "a debug record") != tt.debugShown {
			t.Errorf("%q: debug shown %v, want %v:\n%s", tt.args, !tt.debugShown, tt.debugShown, out)
		}
		line := strings.TrimSpace(out[strings.Index(out, "\n")+1:])
		if !tt.debugShown {
			line = strings.TrimSpace(out)
		}
		var rec map[string]any
		isJSON := json.Unmarshal([]byte(line), &rec) == nil
		if isJSON != tt.json || tt.json && rec["msg"] != "an info record" {
			t.Errorf("%q: %q is JSON: %v, want %v", tt.args, line, isJSON, tt.json)
		}
	}
	fs := FlagSet("prog", "serve", testUsage, io.Discard)
	Logging(fs)
	if err := Parse(fs, []string{"-log", "xml"}, 0, 0); !errors.Is(err, ErrUsage) {
		t.Errorf("-log xml: %v, want a usage error", err)
	}
}

func TestSummary(t *testing.T) {
	var buf bytes.Buffer
	fs := FlagSet("prog", "serve", testUsage, io.Discard)
	lf := Logging(fs)
	Parse(fs, []string{"-log", "json"}, 0, 0)
	Summary(lf.Logger(&buf), "prog", sockkit.Counters{ConnsTotal: 3, Requests: 5, Dropped: sockkit.Drops{Rate: 2}})
	var rec struct {
		Msg        string `json:"msg"`
		ConnsTotal int64  `json:"conns_total"`
		Requests   int64  `json:"requests"`
		Dropped    struct {
			Rate int64 `json:"rate"`
		} `json:"dropped"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec.Msg != "prog: summary" || rec.ConnsTotal != 3 || rec.Requests != 5 || rec.Dropped.Rate != 2 {
		t.Errorf("summary %q (%v): %+v", buf.String(), err, rec)
	}
	Summary(nil, "prog", sockkit.Counters{}) // no logger: nothing, no panic
}

// Main's exit statuses, with the test binary as the program.
func TestExitStatus(t *testing.T) {
	if mode := os.Getenv("CLI_TEST_EXIT"); mode != "" {
		Main("prog", func(context.Context, []string, io.Writer, io.Writer) error {
			switch mode {
			case "usage":
				return ErrUsage
			case "fail":
				return errors.New("it broke")
			case "help":
				return flag.ErrHelp
			}
			return nil
		})
		os.Exit(0)
	}
	for mode, want := range map[string]int{"ok": 0, "help": 0, "fail": 1, "usage": 2} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestExitStatus$")
		cmd.Env = append(os.Environ(), "CLI_TEST_EXIT="+mode)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		got := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			got = ee.ProcessState.Sys().(syscall.WaitStatus).ExitStatus()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: exit %d, want %d", mode, got, want)
		}
		if mode == "fail" && !strings.Contains(stderr.String(), ": it broke") {
			t.Errorf("fail: stderr %q", stderr.String())
		}
	}
}

// TestGiven tells a flag on the command line from one the environment set
// and from one left at its default.
func TestGiven(t *testing.T) {
	t.Setenv("SOCKKIT_PROG_SERVE_ADDR", "127.0.0.1:2")
	fs, _, _ := newTestFlags(io.Discard)
	if err := Parse(fs, nil, 0, 0); err != nil {
		t.Fatal(err)
	}
	if Given(fs, "addr") || Given(fs, "burst-size") || Given(fs, "nonesuch") {
		t.Error("Given for a flag from the environment, a default or no flag")
	}
	fs, _, _ = newTestFlags(io.Discard)
	if err := Parse(fs, []string{"-addr", "127.0.0.1:3", "-burst-size", "5"}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if !Given(fs, "addr") || !Given(fs, "burst-size") {
		t.Error("not Given for flags on the command line")
	}
}
