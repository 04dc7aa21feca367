package termcolor

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mode     Mode
		terminal bool
		env      map[string]string
		want     Depth
	}{
		{"auto, terminal, plain TERM", Auto, true, map[string]string{"TERM": "xterm"}, Colors16},
		{"auto, terminal, 256color TERM", Auto, true, map[string]string{"TERM": "xterm-256color"}, Colors256},
		{"auto, terminal, screen-256color", Auto, true, map[string]string{"TERM": "screen-256color"}, Colors256},
		{"auto, COLORTERM truecolor", Auto, true, map[string]string{"TERM": "xterm", "COLORTERM": "truecolor"}, Colors256},
		{"auto, COLORTERM 24bit", Auto, true, map[string]string{"TERM": "linux", "COLORTERM": "24bit"}, Colors256},
		{"auto, COLORTERM in capitals", Auto, true, map[string]string{"TERM": "xterm", "COLORTERM": "TrueColor"}, Colors256},
		{"auto, COLORTERM other", Auto, true, map[string]string{"TERM": "xterm", "COLORTERM": "yes"}, Colors16},
		{"auto, not a terminal", Auto, false, map[string]string{"TERM": "xterm-256color"}, NoColor},
		{"auto, TERM unset", Auto, true, map[string]string{}, NoColor},
		{"auto, TERM unset, COLORTERM set", Auto, true, map[string]string{"COLORTERM": "truecolor"}, NoColor},
		{"auto, TERM dumb", Auto, true, map[string]string{"TERM": "dumb"}, NoColor},
		{"auto, NO_COLOR set", Auto, true, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, NoColor},
		{"auto, NO_COLOR any value", Auto, true, map[string]string{"TERM": "xterm", "NO_COLOR": "0"}, NoColor},
		{"auto, NO_COLOR empty", Auto, true, map[string]string{"TERM": "xterm", "NO_COLOR": ""}, Colors16},
		{"always, pipe", Always, false, map[string]string{"TERM": "xterm"}, Colors16},
		{"always, pipe, 256color", Always, false, map[string]string{"TERM": "xterm-256color"}, Colors256},
		{"always, NO_COLOR set", Always, false, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, Colors16},
		{"always, TERM unset", Always, false, map[string]string{}, Colors16},
		{"always, TERM dumb", Always, true, map[string]string{"TERM": "dumb"}, Colors16},
		{"never, terminal", Never, true, map[string]string{"TERM": "xterm-256color"}, NoColor},
		{"never, COLORTERM", Never, true, map[string]string{"TERM": "xterm", "COLORTERM": "truecolor"}, NoColor},
		{"invalid mode acts as auto", Mode(42), true, map[string]string{"TERM": "xterm"}, Colors16},
		{"invalid mode acts as auto, pipe", Mode(-1), false, map[string]string{"TERM": "xterm"}, NoColor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asked io.Writer
			out := new(bytes.Buffer)
			e := Env{
				Getenv: func(k string) string { return tt.env[k] },
				IsTerminal: func(w io.Writer) bool {
					asked = w
					return tt.terminal
				},
			}
			if got := e.Detect(out, tt.mode); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
			if asked != nil && asked != io.Writer(out) {
				t.Errorf("IsTerminal asked about %v, not the writer", asked)
			}
		})
	}
}

func TestModeFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    Mode
		wantErr bool
	}{
		{nil, Auto, false},
		{[]string{"-color", "auto"}, Auto, false},
		{[]string{"-color", "always"}, Always, false},
		{[]string{"-color=never"}, Never, false},
		{[]string{"-color", "NEVER"}, Never, false},
		{[]string{"-color", "yes"}, Auto, true},
		{[]string{"-color", ""}, Auto, true},
		{[]string{"-color"}, Auto, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var m Mode
			fs.Var(&m, "color", "colour the output: auto, always or never")
			err := fs.Parse(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error: %v", tt.args, err, tt.wantErr)
			}
			if m != tt.want {
				t.Errorf("mode = %v, want %v", m, tt.want)
			}
			if got := fs.Lookup("color").Value.(flag.Getter).Get(); got != tt.want {
				t.Errorf("Get = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestModeSetError(t *testing.T) {
	t.Parallel()
	var m Mode = Never
	err := m.Set("sometimes")
	if err == nil || !strings.Contains(err.Error(), `"sometimes"`) || !strings.Contains(err.Error(), "auto, always or never") {
		t.Fatalf("Set error = %v", err)
	}
	if m != Never {
		t.Errorf("a failed Set changed the mode to %v", m)
	}
}

func TestModeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    Mode
		want string
	}{{Auto, "auto"}, {Always, "always"}, {Never, "never"}, {Mode(3), "auto"}, {Mode(-1), "auto"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Errorf("Mode(%d).String() = %q, want %q", int(tt.m), got, tt.want)
			}
			var back Mode
			if err := back.Set(tt.m.String()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	closed, err := os.CreateTemp(t.TempDir(), "closed")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	file, err := os.CreateTemp(t.TempDir(), "file")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tests := []struct {
		name string
		w    io.Writer
	}{
		{"buffer", new(bytes.Buffer)},
		{"nil writer", nil},
		{"nil file", (*os.File)(nil)},
		{"pipe", w},
		{"regular file", file},
		{"closed file", closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if IsTerminal(tt.w) {
				t.Errorf("IsTerminal(%s) = true", tt.name)
			}
		})
	}
	// The zero Env uses IsTerminal: a pipe gets no colour in auto mode,
	// whatever TERM says.
	e := Env{Getenv: func(k string) string { return map[string]string{"TERM": "xterm-256color"}[k] }}
	if d := e.Detect(w, Auto); d != NoColor {
		t.Errorf("Detect(pipe, Auto) = %v", d)
	}
}
