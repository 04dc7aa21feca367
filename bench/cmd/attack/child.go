package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// child is a server process started by an attack (see serveCmd), so
// that the attack comes from outside the server and its memory is the
// server's own.
type child struct {
	cmd      *exec.Cmd
	in       io.WriteCloser
	lines    chan string // standard output after "ready"
	addr     map[string]string
	settings []string
	stderr   *tailBuffer
	mu       sync.Mutex // one stats question at a time
	waited   chan error
}

// startChild runs "exe serve args..." and waits until it serves.
func startChild(ctx context.Context, exe string, args ...string) (*child, error) {
	c := &child{
		cmd:    exec.Command(exe, append([]string{"serve"}, args...)...),
		lines:  make(chan string, 16),
		addr:   make(map[string]string),
		stderr: &tailBuffer{max: 4096},
		waited: make(chan error, 1),
	}
	c.cmd.Stderr = c.stderr
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.waited <- c.cmd.Wait()
	}()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return nil, fmt.Errorf("server %s exited before it was ready: %s", strings.Join(args, " "), c.stderr)
			}
			verb, rest := parseChildLine(line)
			switch verb {
			case "ready":
				return c, nil
			case "setting":
				c.settings = append(c.settings, rest)
			case "listening":
				network, addr, _ := strings.Cut(rest, " ")
				c.addr[network] = addr
			}
		case <-timeout.C:
			c.kill()
			return nil, fmt.Errorf("server %s not ready after 10 s", strings.Join(args, " "))
		case <-ctx.Done():
			c.kill()
			return nil, ctx.Err()
		}
	}
}

// parseChildLine splits a line of the server process into its verb and
// the rest.
func parseChildLine(line string) (verb, rest string) {
	verb, rest, _ = strings.Cut(strings.TrimRight(line, "\r"), " ")
	return verb, rest
}

// stats asks the server for its Stats and decodes them into v.
func (c *child) stats(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, "stats\n"); err != nil {
		return fmt.Errorf("asking the server for its stats: %w", err)
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return fmt.Errorf("the server exited: %s", c.stderr)
			}
			if verb, rest := parseChildLine(line); verb == "stats" {
				return json.Unmarshal([]byte(rest), v)
			}
		case <-timeout.C:
			return errors.New("the server did not answer a stats request within 5 s")
		}
	}
}

// memory returns the server's resident memory now and at its peak.
func (c *child) memory() (rss, peak int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	rss, peak, err = parseMemory(f)
	if err != nil {
		return 0, 0
	}
	return rss, peak
}

// stop shuts the server down (the end of its input) and waits for it;
// after 10 s it is killed.
func (c *child) stop() error {
	c.in.Close()
	go func() {
		for range c.lines { // what is left, so that the reader reaches Wait
		}
	}()
	select {
	case err := <-c.waited:
		if err != nil {
			return fmt.Errorf("server: %w: %s", err, c.stderr)
		}
		return nil
	case <-time.After(10 * time.Second):
		c.kill()
		return errors.New("the server did not stop within 10 s of the end of its input; killed")
	}
}

func (c *child) kill() {
	c.cmd.Process.Kill()
	c.in.Close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}
