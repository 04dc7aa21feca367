package cli

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix begins the name of every environment variable that sets a
// flag.
const EnvPrefix = "SOCKKIT_"

// EnvName returns the environment variable that sets flag of the command
// named cmd ("prog cmd", as given to [FlagSet]): SOCKKIT_, then cmd and
// flag in upper case with spaces and "-" as "_", such as
// SOCKKIT_HTTPFETCH_GET_LIMIT_RATE for httpfetch get -limit-rate. With an
// empty flag it returns the prefix of the command's variables.
func EnvName(cmd, flag string) string {
	name := cmd
	if flag != "" {
		name += " " + flag
	}
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_").Replace(name))
}

// Given reports whether the flag name of fs, parsed by [Parse], was given
// on the command line rather than left at its default or taken from the
// environment. (A command line that repeats the environment's value
// counts as the environment's.)
func Given(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	set := false
	fs.Visit(func(v *flag.Flag) { set = set || v == f })
	if !set {
		return false
	}
	env := os.Getenv(EnvName(fs.Name(), name))
	return env == "" || f.Value.String() != env
}

// setFromEnv sets each flag of fs whose variable is set and not empty.
// The command line, parsed after, overrides it. It does nothing once a
// flag of fs is set, so that a command that parses its arguments in
// several calls (flags after a positional argument) does not put the
// environment's values back over the command line's.
func setFromEnv(fs *flag.FlagSet) error {
	set := false
	fs.Visit(func(*flag.Flag) { set = true })
	if set {
		return nil
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(fs.Name(), f.Name)
		v := os.Getenv(name)
		if v == "" || err != nil {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			// Not the value itself: it may be a secret (a header, a URL).
			err = fmt.Errorf("invalid value of %s (-%s): %v", name, f.Name, serr)
		}
	})
	return err
}
