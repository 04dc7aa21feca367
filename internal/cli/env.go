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
