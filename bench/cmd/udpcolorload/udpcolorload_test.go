package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

func TestLoad(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-members", "2,5", "-dur", "200ms"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	t.Logf("\n%s", out.String())
	for _, n := range []string{"2", "5"} {
		m := regexp.MustCompile(`relay/m` + n + `/datagrams (\d+) datagrams/s`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no figure for %s members in:\n%s", n, out.String())
		}
		if v, _ := strconv.Atoi(m[1]); v == 0 {
			t.Errorf("%s members: nothing relayed", n)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-members", "1"}, {"-size", "0"}, {"extra"}, {"-bogus"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
