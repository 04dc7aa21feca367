package main

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// rateFlag is -limit-rate: bytes per second, with curl's suffixes
// (K, M, G, T: powers of 1024, either case) and fractions: 100K, 2.5M.
// Zero means no limit.
type rateFlag int64

func (r *rateFlag) String() string {
	if r == nil || *r == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*r), 10)
}

func (r *rateFlag) Set(s string) error {
	n, err := parseRate(s)
	if err != nil {
		return err
	}
	*r = rateFlag(n)
	return nil
}

func parseRate(s string) (int64, error) {
	num, mult := s, 1.0
	if i := len(s) - 1; i >= 0 {
		if k := strings.IndexByte("kmgt", s[i]|0x20); k >= 0 {
			num, mult = s[:i], math.Pow(1024, float64(k+1))
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want bytes per second such as 500, 100K, 2.5M")
	}
	switch v := f * mult; {
	case v < 0:
		return 0, errors.New("a rate cannot be negative")
	case v > 1<<50:
		return 0, errors.New("more than 1 PiB/s")
	case v > 0 && v < 1:
		return 0, errors.New("less than 1 byte per second")
	default:
		return int64(math.Round(v)), nil
	}
}

// headerFlag is -H 'Name: value', repeatable; the headers that the
// client sets itself are refused later, by httpfetch.Client.Check.
type headerFlag http.Header

func (h headerFlag) String() string { return "" }

func (h headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || name == "" || strings.TrimSpace(name) != name {
		return errors.New("want 'Name: value'")
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return fmt.Errorf("%s has no value", name)
	}
	http.Header(h).Add(name, value)
	return nil
}
