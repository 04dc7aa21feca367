package opt

import (
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
	if got := Or(time.Duration(0), time.Second); got != time.Second {
		t.Errorf("Or(0s, 1s) = %v", got)
	}
	if got := Or(2.5, 1.0); got != 2.5 {
		t.Errorf("Or(2.5, 1) = %v", got)
	}
}

func TestPositive(t *testing.T) {
	for _, v := range []time.Duration{0, -time.Second} {
		if got := Positive(v, time.Minute); got != time.Minute {
			t.Errorf("Positive(%v, 1m) = %v", v, got)
		}
	}
	if got := Positive(3, 7); got != 3 {
		t.Errorf("Positive(3, 7) = %d", got)
	}
}
