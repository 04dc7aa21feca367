package cli_test

import (
	"fmt"
	"io"
	"os"

	"github.com/sockkit/sockkit/internal/cli"
)

// Every flag can be set in the environment too; the command line wins.
func ExampleParse_environment() {
	os.Setenv("SOCKKIT_ECHO_SERVE_ADDR", "127.0.0.1:7777")
	defer os.Unsetenv("SOCKKIT_ECHO_SERVE_ADDR")
	fs := cli.FlagSet("echo", "serve", "usage:\n  echo serve [-addr ADDR]\n", io.Discard)
	addr := fs.String("addr", "127.0.0.1:7007", "`address` to serve on")
	if err := cli.Parse(fs, nil, 0, 0); err != nil {
		fmt.Println(err)
	}
	fmt.Println(*addr)
	fmt.Println(cli.EnvName("httpfetch get", "limit-rate"))
	// Output:
	// 127.0.0.1:7777
	// SOCKKIT_HTTPFETCH_GET_LIMIT_RATE
}

// A mistake prints what was wrong, the command's synopsis and a hint.
func ExampleParse_mistake() {
	fs := cli.FlagSet("echo", "serve", "usage:\n  echo serve [-addr ADDR]\n  echo send MESSAGE\n", os.Stdout)
	fs.String("addr", "127.0.0.1:7007", "`address` to serve on")
	fmt.Println(cli.Parse(fs, []string{"-adr", "x"}, 0, 0))
	// Output:
	// flag provided but not defined: -adr
	// usage: echo serve [-addr ADDR]
	// run 'echo serve -h' for help
	// usage
}
