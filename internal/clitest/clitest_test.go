package clitest

import (
	"context"
	"fmt"
	"io"
	"testing"
)

func TestStartWaitStop(t *testing.T) {
	p := Start(t, func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fmt.Fprintf(stdout, "serving on 127.0.0.1:%s\n", args[0])
		<-ctx.Done()
		return nil
	}, "4242")
	if got := WaitFor(t, &p.Stdout, `serving on (\S+)`); got != "127.0.0.1:4242" {
		t.Fatalf("WaitFor = %q", got)
	}
	if err := p.Stop(); err != nil || p.Stop() != nil {
		t.Fatalf("Stop = %v", err)
	}
}
