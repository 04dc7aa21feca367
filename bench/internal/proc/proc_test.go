package proc

import (
	"os"
	"runtime"
	"testing"
)

func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if RSS(os.Getpid()) <= 0 {
		t.Error("no resident memory")
	}
	for i := 0; CPU(os.Getpid()) == 0 && i < 1e9; i++ {
	}
	if CPU(os.Getpid()) <= 0 {
		t.Error("no CPU time")
	}
	if RSS(-1) != 0 || CPU(-1) != 0 {
		t.Error("figures for no process")
	}
}
