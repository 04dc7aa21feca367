package cli

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version returns the line that PROG -version prints: the program's
// name, the module's version from the build information ("(devel)" or a
// pseudo-version when built from a checkout, the tag's version when
// installed with go install ...@VERSION), and what is known of the
// source: the VCS revision, its time, whether the tree was modified, and
// the Go version.
func Version(prog string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return display(prog) + " (no build information)"
	}
	return versionLine(display(prog), bi)
}

func versionLine(name string, bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var detail []string
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		detail = append(detail, "revision "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		detail = append(detail, t)
	}
	if settings["vcs.modified"] == "true" {
		detail = append(detail, "modified")
	}
	if bi.GoVersion != "" {
		detail = append(detail, bi.GoVersion)
	}
	line := name + " " + version
	if len(detail) > 0 {
		line += " (" + strings.Join(detail, ", ") + ")"
	}
	if bi.Main.Path != "" {
		line = fmt.Sprintf("%s, module %s", line, bi.Main.Path)
	}
	return line
}
