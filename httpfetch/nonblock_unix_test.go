//go:build unix

package httpfetch

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Opening a FIFO in the served directory must not wait for a writer, and
// the FIFO is not served.
func TestFIFONeverBlocks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	opened := make(chan error, 1)
	go func() {
		f, err := rootFS{root}.Open("pipe")
		if err == nil {
			f.Close()
		}
		opened <- err
	}()
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	base := startServer(t, &Server{Dir: dir})
	resp, err := http.Get(base + "/pipe")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /pipe: %d, want 404", resp.StatusCode)
	}
}
