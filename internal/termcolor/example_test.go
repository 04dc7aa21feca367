package termcolor_test

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sockkit/sockkit/internal/termcolor"
)

// A program's -color flag and the colour of its output, in a made-up
// environment: a 256-colour terminal, and the same with NO_COLOR set.
func Example() {
	var mode termcolor.Mode
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.Var(&mode, "color", "colour the output: auto, always or never")
	if err := fs.Parse([]string{"-color", "auto"}); err != nil {
		fmt.Println(err)
		return
	}
	vars := map[string]string{"TERM": "xterm-256color"}
	env := termcolor.Env{
		Getenv:     func(k string) string { return vars[k] },
		IsTerminal: func(io.Writer) bool { return true },
	}
	depth := env.Detect(os.Stdout, mode)
	fmt.Printf("%v: %q\n", depth, depth.Paint(196, "alert"))
	fmt.Printf("%v: %q\n", termcolor.Colors16, termcolor.Colors16.Paint(196, "alert"))

	vars["NO_COLOR"] = "1"
	depth = env.Detect(os.Stdout, mode)
	fmt.Printf("%v with NO_COLOR: %q\n", depth, depth.Paint(196, "alert"))
	// Output:
	// 256 colours: "\x1b[38;5;196malert\x1b[0m"
	// 16 colours: "\x1b[91malert\x1b[0m"
	// none with NO_COLOR: "alert"
}
