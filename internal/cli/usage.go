package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// exitStatus documents the exit statuses of [Main], in every help text.
const exitStatus = "Exit status: 0 success, 1 failure, 2 mistake on the command line."

// invoked is the name the program was run as, set by [Main]; empty in
// tests, where the programs keep the names they give themselves.
var invoked string

// display returns name ("prog" or "prog cmd") with prog replaced by the
// name the program was run as.
func display(name string) string {
	if invoked == "" {
		return name
	}
	_, rest, found := strings.Cut(name, " ")
	if !found {
		return invoked
	}
	return invoked + " " + rest
}

// displayUsage returns usage with prog, where it begins a line, replaced
// by the name the program was run as, and the lines that continue it
// moved to stay aligned.
func displayUsage(prog, usage string) string {
	shown := display(prog)
	if shown == prog {
		return usage
	}
	shift := strings.Repeat(" ", max(0, len(shown)-len(prog)))
	lines := strings.SplitAfter(usage, "\n")
	inBlock := false
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(trimmed)]
		switch {
		case strings.HasPrefix(trimmed, prog+" "):
			lines[i] = indent + shown + trimmed[len(prog):]
			inBlock = true
		case inBlock && indent != "" && trimmed != "" && trimmed != "\n":
			lines[i] = shift + line
		default:
			inBlock = false
		}
	}
	return strings.Join(lines, "")
}

// hint is the last line of a usage error.
func hint(name string) string {
	return fmt.Sprintf("run '%s -h' for help\n", display(name))
}

// output is the output of a [FlagSet]: stderr, with the program's usage
// for the help texts.
type output struct {
	io.Writer
	usage string
}

// names returns the program's and the command's names from fs's name.
func names(fs *flag.FlagSet) (prog, cmd string) {
	prog, cmd, _ = strings.Cut(fs.Name(), " ")
	return prog, cmd
}

func usageOf(fs *flag.FlagSet) string {
	if o, ok := fs.Output().(*output); ok {
		return o.usage
	}
	return ""
}

// shortUsage prints the lines of fs's command in the program's usage,
// and a hint to run it with -h.
func shortUsage(fs *flag.FlagSet) {
	prog, cmd := names(fs)
	fmt.Fprint(fs.Output(), synopsis(prog, cmd, displayUsage(prog, usageOf(fs))))
	fmt.Fprint(fs.Output(), hint(fs.Name()))
}

// synopsis returns "usage: " and the lines of usage that describe
// "prog cmd" (the line that starts with it, and those indented under
// it), or all of usage if none does.
func synopsis(prog, cmd, usage string) string {
	shown := display(prog + " " + cmd)
	var b strings.Builder
	shift := 0
	for line := range strings.Lines(usage) {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		switch {
		case b.Len() == 0 && (strings.HasPrefix(trimmed, shown+" ") || strings.TrimSpace(trimmed) == shown):
			b.WriteString("usage: " + trimmed)
			shift = len("usage: ") - indent
		case b.Len() > 0 && indent > 0 && strings.TrimSpace(trimmed) != "" && !strings.HasPrefix(trimmed, display(prog)+" "):
			b.WriteString(strings.Repeat(" ", max(0, indent+shift)) + trimmed)
		case b.Len() > 0:
			return ensureNewline(b.String())
		}
	}
	if b.Len() == 0 {
		return usage
	}
	return ensureNewline(b.String())
}

func ensureNewline(s string) string {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// fullUsage is the help of -h: the program's usage, the command's flags,
// the environment variables that set them and the exit statuses.
func fullUsage(fs *flag.FlagSet) {
	w := fs.Output()
	prog, _ := names(fs)
	fmt.Fprint(w, displayUsage(prog, usageOf(fs)))
	fmt.Fprintf(w, "flags of %s:\n", display(fs.Name()))
	fs.PrintDefaults()
	first := ""
	fs.VisitAll(func(f *flag.Flag) {
		if first == "" {
			first = f.Name
		}
	})
	if first != "" {
		fmt.Fprintf(w, "Each flag can also be set in the environment as %s_FLAG (upper case, - as _),\nsuch as %s for -%s; the command line wins.\n",
			EnvName(fs.Name(), ""), EnvName(fs.Name(), first), first)
	}
	fmt.Fprintln(w, exitStatus)
}
