// Package opt reads the configuration fields of sockkit's servers and
// clients, where the zero value means "the default".
package opt

import "time"

// Or returns v, or def when v is the zero value.
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Positive returns v, or def when v is zero or negative: for settings
// where a negative value would make no sense.
func Positive[T int | int64 | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
