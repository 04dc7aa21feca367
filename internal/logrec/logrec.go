// Package logrec writes the servers' log records: through an optional
// *slog.Logger (nothing when it is nil), with net.Addr values as their
// strings, since a JSON handler would write a *net.TCPAddr as an object.
package logrec

import (
	"context"
	"log/slog"
	"net"
)

// Log writes a record to l, if l is not nil, with every net.Addr among
// args replaced by its String.
func Log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	if l == nil || !l.Enabled(context.Background(), level) {
		return
	}
	for i, a := range args {
		if addr, ok := a.(net.Addr); ok {
			args[i] = addr.String()
		}
	}
	l.Log(context.Background(), level, msg, args...)
}
