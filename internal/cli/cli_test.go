package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	called := ""
	cmds := Commands{"serve": func(_ context.Context, args []string, _, _ io.Writer) error {
		called = strings.Join(args, ",")
		return nil
	}}
	tests := []struct {
		args                []string
		wantErr             error
		wantOut, wantErrOut bool
	}{
		{nil, ErrUsage, false, true},
		{[]string{"bogus"}, ErrUsage, false, true},
		{[]string{"help"}, nil, true, false},
		{[]string{"-h"}, nil, true, false},
		{[]string{"serve", "a", "b"}, nil, false, false},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := Dispatch(context.Background(), "prog", "usage: prog serve\n", cmds, tt.args, &out, &errOut)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("Dispatch(%q) = %v, want %v", tt.args, err, tt.wantErr)
		}
		if (out.Len() > 0) != tt.wantOut || (errOut.Len() > 0) != tt.wantErrOut {
			t.Errorf("Dispatch(%q) printed %q to stdout and %q to stderr", tt.args, out.String(), errOut.String())
		}
	}
	if called != "a,b" {
		t.Errorf("sub-command got %q, want a,b", called)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		args     []string
		min, max int
		want     error
	}{
		{[]string{"-n", "3", "x"}, 1, 1, nil},
		{[]string{"x", "y"}, 1, -1, nil},
		{nil, 1, 1, ErrUsage},
		{[]string{"x", "y"}, 0, 1, ErrUsage},
		{[]string{"-nope"}, 0, 0, ErrUsage},
		{[]string{"-n", "notanumber"}, 0, 0, ErrUsage},
		{[]string{"-h"}, 0, 0, flag.ErrHelp},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		fs := FlagSet("prog", "cmd", "usage: prog cmd [-n N] ARG\n", &errOut)
		fs.Int("n", 0, "a number")
		err := Parse(fs, tt.args, tt.min, tt.max)
		if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("Parse(%q, %d, %d) = %v, want %v", tt.args, tt.min, tt.max, err, tt.want)
		}
		if err != nil && !strings.Contains(errOut.String(), "usage: prog cmd") {
			t.Errorf("Parse(%q) failed without saying why", tt.args)
		}
	}
}

func TestMessage(t *testing.T) {
	tests := []struct{ err, want string }{
		{"dial tcp: refused", "prog: dial tcp: refused"},
		{"prog: already prefixed", "prog: already prefixed"},
		{"two\nlines", "prog: two lines"},
		{"peer said \x1b[31mred\x1b[0m", "prog: peer said red"},
	}
	for _, tt := range tests {
		if got := Message("prog", errors.New(tt.err)); got != tt.want {
			t.Errorf("Message(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
