//go:build !(unix || windows)

package dgram

func isRefused(error) bool { return false }

// IsRefused reports false: this platform reports no ICMP errors on sockets.
func IsRefused(error) bool { return false }
