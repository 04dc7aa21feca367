package opt

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestOr(t *testing.T) {
	if got := Or(0, 7); got != 7 {
		t.Errorf("Or(0, 7) = %d", got)
	}
	if got := Or(-1, 7); got != -1 {
		t.Errorf("Or(-1, 7) = %d: a negative value must be kept (it often means no limit)", got)
	}
	if got := Or(2.5, 1.0); got != 2.5 {
		t.Errorf("Or(2.5, 1) = %v", got)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		resolve func(r *Resolver) int
		want    int
		wantErr string
	}{
		{"default zero", func(r *Resolver) int { return Default(r, "F", 0, 7) }, 7, ""},
		{"default set", func(r *Resolver) int { return Default(r, "F", 3, 7) }, 3, ""},
		{"default negative", func(r *Resolver) int { return Default(r, "F", -1, 7) }, 7, "pkg: F -1: must be positive"},
		{"unlimited zero", func(r *Resolver) int { return Unlimited(r, "F", 0, 7) }, 7, ""},
		{"unlimited negative", func(r *Resolver) int { return Unlimited(r, "F", -5, 7) }, -5, ""},
		{"range in", func(r *Resolver) int { return Range(r, "F", 15, 1, 1, 15) }, 15, ""},
		{"range out", func(r *Resolver) int { return Range(r, "F", 16, 1, 1, 15) }, 1, "pkg: F 16: must be 1 to 15"},
		{"at most huge", func(r *Resolver) int { return AtMost(r, "F", 1<<40, 8, 1<<16) }, 8, "pkg: F 1099511627776: must be 1 to 65536"},
		{"at most negative", func(r *Resolver) int { return AtMost(r, "F", -1, 8, 1<<16) }, 8, "pkg: F -1: must be 1 to 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New("pkg")
			if got := tt.resolve(r); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
			err := r.Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			var se *SettingError
			if tt.wantErr != "" && !errors.As(err, &se) {
				t.Errorf("error %v is not a *SettingError", err)
			}
		})
	}
}

func TestResolveDuration(t *testing.T) {
	r := New("echo")
	if got := Default(r, "IdleTimeout", -time.Second, time.Minute); got != time.Minute {
		t.Errorf("got %v", got)
	}
	r.Check(false, "Stratum", 16, "must be 1 to 15")
	want := "echo: IdleTimeout -1s: must be positive\necho: Stratum 16: must be 1 to 15"
	if err := r.Err(); err == nil || err.Error() != want {
		t.Errorf("Err = %v, want %q", err, want)
	}
}

// NaN compares false with everything: it must not slip through as "in
// range" (a NaN rate once meant no rate limiter at all).
func TestNaN(t *testing.T) {
	nan := math.NaN()
	for name, resolve := range map[string]func(r *Resolver) float64{
		"Default":   func(r *Resolver) float64 { return Default(r, "Rate", nan, 2) },
		"Unlimited": func(r *Resolver) float64 { return Unlimited(r, "Rate", nan, 2) },
		"Range":     func(r *Resolver) float64 { return Range(r, "Rate", nan, 2, 1, 10) },
		"AtMost":    func(r *Resolver) float64 { return AtMost(r, "Rate", nan, 2, 10) },
	} {
		r := New("pkg")
		if got := resolve(r); got != 2 || r.Err() == nil {
			t.Errorf("%s(NaN) = %v, %v; want the default and an error", name, got, r.Err())
		}
	}
}
