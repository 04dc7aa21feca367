// Package cli is the shape shared by the programs under examples/: a
// main that turns errors into exit statuses, sub-commands, and flag
// parsing that tells a mistake on the command line (exit 2, with usage)
// from a failure (exit 1, with one line).
//
// # What every program has
//
//   - Exit status 0 on success (and after -h), 1 for a failure, printed as
//     one line, and 2 for a mistake on the command line ([Main]).
//   - PROG -version, before any sub-command, prints the module's version
//     from the build information ([Version]); -h, help or no argument at
//     all print the sub-commands ([Dispatch]).
//   - A mistake on the command line prints what was wrong, the command's
//     synopsis and "run 'PROG CMD -h' for help"; -h prints every flag
//     ([Parse]).
//   - Every flag of a sub-command can also be set in the environment, as
//     SOCKKIT_PROG_CMD_FLAG, upper case with "-" as "_" (such as
//     SOCKKIT_ECHO_SERVE_ADDR for echo serve -addr); the command line wins
//     ([EnvName]).
//   - Commands that log (the servers) take -v and -log text|json after the
//     sub-command, as in PROG serve -v ([Logging]).
//
// The programs name themselves in what this package prints by the name
// they were run as (os.Args[0]), so that an installed sockkit-echo says
// "run 'sockkit-echo serve -h'"; their own messages keep the short name.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// ErrUsage reports a mistake on the command line, after the usage or what
// was wrong has been printed. [Main] exits with status 2 for it.
var ErrUsage = errors.New("usage")

// Run is a program, or one of its sub-commands, without the process:
// arguments in, output to the writers, an error out.
type Run func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs run with the process's arguments and a context that is
// cancelled by SIGINT, SIGTERM or SIGHUP (a closed terminal), then exits:
// 0 on success or after -h, 2 for [ErrUsage], and 1 for any other error,
// printed to stderr as the one line [Message] makes of it.
//
// The first signal cancels the context, which a server given it takes as
// the start of a graceful shutdown; from then on the signals have their
// default effect again, so a second Ctrl-C stops the program at once.
func Main(prog string, run Run) {
	invoked = filepath.Base(os.Args[0])
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancelCause(context.Background())
	finished := make(chan struct{})
	go func() {
		select {
		case <-sigCtx.Done():
			// Stop catching before run hears of it: by the time the
			// program reacts to the first signal, a second one ends it.
			stop()
			cancel(context.Cause(sigCtx))
		case <-finished:
		}
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	close(finished)
	stop()
	cancel(nil)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, ErrUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, Message(prog, err))
		os.Exit(1)
	}
}

// Message returns err as one line for a terminal: prefixed with "prog: "
// (once), with line breaks and anything a peer could have put in it to
// drive the terminal removed.
func Message(prog string, err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	msg = textsafe.Clean(msg)
	if !strings.HasPrefix(msg, prog+": ") {
		msg = prog + ": " + msg
	}
	return msg
}

// Serve runs each of serves, a server's Serve or ServePacket calls, with
// ctx, until all have returned: the servers shut down gracefully by
// themselves when ctx (the signal context of [Main]) is cancelled. If one
// fails on its own, shutdown (the server's Shutdown, given timeout) stops
// the others. Serve prints "prog: stopped" to stdout once all have
// returned closed, and returns nil then; otherwise it returns the first
// failure.
func Serve(ctx context.Context, prog string, stdout io.Writer, closed error, timeout time.Duration,
	shutdown func(context.Context) error, serves ...func(context.Context) error) error {
	errc := make(chan error, len(serves))
	for _, serve := range serves {
		go func() { errc <- serve(ctx) }()
	}
	var first error
	for range serves {
		err := <-errc
		if errors.Is(err, closed) {
			continue
		}
		if first == nil {
			first = err
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			shutdown(sctx)
			cancel()
		}
	}
	if first != nil {
		return first
	}
	fmt.Fprintf(stdout, "%s: stopped\n", prog)
	return nil
}

// Commands maps sub-command names to what they run.
type Commands map[string]Run

// Dispatch runs the sub-command that args[0] names with the rest of args.
// "help", "-h", "-help" and "--help" print usage, with what every program
// has (-version, the environment, the exit statuses), to stdout, and
// "-version" or "--version" prints [Version]. With no argument or an
// unknown command it prints what was wrong and usage to stderr and
// returns [ErrUsage].
func Dispatch(ctx context.Context, prog, usage string, cmds Commands, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: no command\n%s%s", display(prog), displayUsage(prog, usage), hint(prog))
		return ErrUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, displayUsage(prog, usage))
		fmt.Fprintf(stdout, "  %s -version\n\n", display(prog))
		if _, ok := cmds["serve"]; ok {
			fmt.Fprintf(stdout, "serve also takes -v (debug records), -log text|json (records on stderr),\n-metrics ADDR (Prometheus at http://ADDR/metrics) and -pprof (with -metrics).\n")
			fmt.Fprintf(stdout, "Flags can also be set in the environment, such as %s for serve -addr;\n", EnvName(prog+" serve", "addr"))
		} else {
			fmt.Fprintf(stdout, "Flags can also be set in the environment, as %s_CMD_FLAG;\n", EnvName(prog, ""))
		}
		fmt.Fprintf(stdout, "the command line wins. %s\nRun '%s COMMAND -h' for a command's flags.\n", exitStatus, display(prog))
		return nil
	case "-version", "--version":
		fmt.Fprintln(stdout, Version(prog))
		return nil
	}
	run, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n%s%s", display(prog), args[0], displayUsage(prog, usage), hint(prog))
		return ErrUsage
	}
	return run(ctx, args[1:], stdout, stderr)
}

// FlagSet returns the flag set of "prog cmd". A mistake on its command
// line, and a call of its Usage, print the command's lines of usage and a
// hint to run it with -h; -h prints usage, every flag, the environment
// variables and the exit statuses (see [Parse]).
func FlagSet(prog, cmd, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(prog+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(&output{Writer: stderr, usage: usage})
	fs.Usage = func() { shortUsage(fs) }
	return fs
}

// Parse sets fs's flags from the environment (see [EnvName]), then parses
// args with fs, and checks that between minArgs and maxArgs arguments
// (maxArgs < 0: any number) follow the flags. It returns [flag.ErrHelp]
// for -h, having printed every flag, and [ErrUsage] for any mistake,
// having printed it and a short usage.
func Parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int) error {
	if err := setFromEnv(fs); err != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", display(fs.Name()), err)
		fs.Usage()
		return ErrUsage
	}
	usage := fs.Usage
	fs.Usage = func() {} // the flag package's call; what to print depends on why
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fullUsage(fs)
			return err
		}
		fs.Usage() // the flag package has printed what was wrong
		return ErrUsage
	}
	if n := fs.NArg(); n < minArgs || maxArgs >= 0 && n > maxArgs {
		switch {
		case n < minArgs:
			fmt.Fprintf(fs.Output(), "%s: missing argument\n", display(fs.Name()))
		default:
			fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", display(fs.Name()), fs.Arg(maxArgs))
		}
		fs.Usage()
		return ErrUsage
	}
	return nil
}

// Usagef reports a mistake on fs's command line that the flag package
// cannot see (flags that do not go together, a value out of range): it
// prints "prog cmd: " and the message, then fs's short usage, and
// returns [ErrUsage].
func Usagef(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", display(fs.Name()), fmt.Sprintf(format, args...))
	fs.Usage()
	return ErrUsage
}
