// Package opt resolves the configuration fields of sockkit's servers and
// clients, with one rule for all of them:
//
//   - zero means the documented default;
//   - a negative value means "no limit" only for fields whose doc says so
//     (resolved with [Unlimited]); the caller gets it back as it is and
//     tests v < 0;
//   - any other value out of range is an error, a [*SettingError] naming
//     the package, the field and the value, such as
//     "echo: BufferSize -1: must be positive".
//
// A server resolves every field once, in one place, when serving starts,
// into a private copy, with one [Resolver]; Serve returns [Resolver.Err]
// if it is not nil. Nothing a setting holds can make a server panic.
package opt

import (
	"errors"
	"fmt"
)

// Or returns v, or def when v is the zero value.
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Number is what the numeric settings are made of.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~float64
}

// SettingError reports a setting out of range.
type SettingError struct {
	Pkg    string // "echo"
	Field  string // "BufferSize"
	Value  any    // -1
	Reason string // "must be positive"
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%s: %s %v: %s", e.Pkg, e.Field, e.Value, e.Reason)
}

// Resolver collects the errors found while resolving the settings of one
// server or client. The zero value is not usable; make one with [New].
type Resolver struct {
	pkg  string
	errs []error
}

// New returns a Resolver whose errors are prefixed with pkg.
func New(pkg string) *Resolver { return &Resolver{pkg: pkg} }

// Fail records that field holds value, which is wrong for reason.
func (r *Resolver) Fail(field string, value any, reason string) {
	r.errs = append(r.errs, &SettingError{Pkg: r.pkg, Field: field, Value: value, Reason: reason})
}

// Check records a failure unless ok.
func (r *Resolver) Check(ok bool, field string, value any, reason string) {
	if !ok {
		r.Fail(field, value, reason)
	}
}

// Err returns the failures recorded, joined, or nil.
func (r *Resolver) Err() error { return errors.Join(r.errs...) }

// isNaN reports whether v is a float NaN, which compares false with
// everything and so would pass every range check.
func isNaN[T Number](v T) bool { return v != v }

// Default resolves a field that must be positive: zero means def, a
// negative value (or NaN) is an error.
func Default[T Number](r *Resolver, field string, v, def T) T {
	v, ok := usable(r, field, v, def)
	if ok && v < 0 {
		r.Fail(field, v, "must be positive")
		return def
	}
	return v
}

// Unlimited resolves a field whose doc says that a negative value means
// "no limit": zero means def, a negative value is returned as it is.
func Unlimited[T Number](r *Resolver, field string, v, def T) T {
	v, _ = usable(r, field, v, def)
	return v
}

// usable returns def for zero and for NaN (recording the failure), and
// otherwise v with ok set: the part every resolver shares.
func usable[T Number](r *Resolver, field string, v, def T) (T, bool) {
	switch {
	case isNaN(v):
		r.Fail(field, v, "must be a number")
		return def, false
	case v == 0:
		return def, false
	}
	return v, true
}

// Range resolves a field that must lie in [lo, hi]: zero means def, a
// value out of range is an error.
func Range[T Number](r *Resolver, field string, v, def, lo, hi T) T {
	if v == 0 {
		return def
	}
	if isNaN(v) || v < lo || v > hi {
		r.Fail(field, v, fmt.Sprintf("must be %v to %v", lo, hi))
		return def
	}
	return v
}

// AtMost resolves a positive field bounded by hi: zero means def, a
// negative value or one above hi is an error.
func AtMost[T Number](r *Resolver, field string, v, def, hi T) T {
	if v == 0 {
		return def
	}
	if isNaN(v) || v < 0 || v > hi {
		r.Fail(field, v, fmt.Sprintf("must be 1 to %v", hi))
		return def
	}
	return v
}
