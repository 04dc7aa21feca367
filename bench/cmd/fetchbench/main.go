// Command fetchbench measures httpfetch on loopback against curl, aria2c
// and nginx, in one run and on the same file:
//
//   - client: httpfetch.Client in one stream vs curl, and in N ranges vs
//     aria2c -x N, all downloading from nginx into a file;
//   - server: httpfetch.Server vs nginx, serving the same file to the same
//     client (curl -o /dev/null).
//
// It creates the file in a temporary directory and removes everything it
// made when it ends. Each figure is the best of -rounds transfers. Tools
// that are not installed are skipped with a note.
//
//	fetchbench [-size 1GiB] [-parallel 4] [-rounds 3] [-dir DIR]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/httpfetch"
)

// childEnv, when set, makes the program our download client instead of
// the bench: "URL OUT PARALLEL". The bench runs our client as a process
// of its own, as it runs curl and aria2c, so that all pay the same start.
const childEnv = "FETCHBENCH_CLIENT"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if args := os.Getenv(childEnv); args != "" {
		err = child(ctx, args)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetchbench:", err)
		os.Exit(1)
	}
}

// parseSize reads "1GiB", "256MiB", "4096" (bytes).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

type bench struct {
	size     int64
	parallel int
	rounds   int
	dir      string
	src      string // the file served
	out      io.Writer
	timeout  time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fetchbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizeFlag := fs.String("size", "1GiB", "size of the test file")
	parallel := fs.Int("parallel", 4, "ranges for the parallel runs")
	rounds := fs.Int("rounds", 3, "transfers per figure (the best is kept)")
	base := fs.String("dir", "", "where to put the test file (default: the system temp dir)")
	timeout := fs.Duration("timeout", 60*time.Second, "bound on each transfer")
	if err := fs.Parse(args); err != nil {
		return flag.ErrHelp
	}
	size, err := parseSize(*sizeFlag)
	if err != nil {
		return err
	}
	if *parallel < 1 || *rounds < 1 {
		return errors.New("-parallel and -rounds must be at least 1")
	}
	dir, err := os.MkdirTemp(*base, "fetchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The file and one copy must fit, with room to spare.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		free := int64(st.Bavail) * st.Bsize
		for size > 64<<20 && 3*size > free {
			size /= 2
		}
		if 3*size > free {
			return fmt.Errorf("only %d bytes free in %s", free, dir)
		}
		if size < mustSize(*sizeFlag) {
			fmt.Fprintf(stdout, "note: only %d MiB free; the file is cut to %d MiB\n", free>>20, size>>20)
		}
	}

	b := &bench{size: size, parallel: *parallel, rounds: *rounds, dir: dir, out: stdout, timeout: *timeout}
	if err := b.makeFile(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "file: %d MiB of random bytes on loopback, best of %d, %d ranges for parallel runs\n",
		size>>20, b.rounds, b.parallel)

	ours, stopOurs, err := b.startOurs(ctx)
	if err != nil {
		return err
	}
	defer stopOurs()
	nginxURL, stopNginx, nginxErr := b.startNginx(ctx)
	if nginxErr == nil {
		defer stopNginx()
	} else {
		fmt.Fprintf(stdout, "note: no nginx (%v); the client runs use our server\n", nginxErr)
	}
	clientServer := nginxURL
	serverName := "nginx"
	if nginxErr != nil {
		clientServer, serverName = ours, "httpfetch.Server"
	}

	fmt.Fprintf(stdout, "\nclient, downloading from %s into a file (MiB/s):\n", serverName)
	one := b.measure(ctx,
		named{"httpfetch.Client, 1 stream", func(out string) error { return b.ourClient(ctx, clientServer, out, 1) }},
		named{"curl", func(out string) error {
			return b.tool(ctx, "curl", "-sS", "-f", "-o", out, clientServer+"/file.bin")
		}})
	ratio(stdout, "httpfetch / curl, one stream", one[0], one[1], 1.0)
	n := strconv.Itoa(b.parallel)
	par := b.measure(ctx,
		named{"httpfetch.Client, " + n + " ranges", func(out string) error { return b.ourClient(ctx, clientServer, out, b.parallel) }},
		named{"aria2c -x " + n, func(out string) error {
			return b.tool(ctx, "aria2c", "-q", "-x", n, "-s", n, "-k", "1M", "--file-allocation=none",
				"--allow-overwrite=true", "--auto-file-renaming=false", "--console-log-level=error",
				"-d", filepath.Dir(out), "-o", filepath.Base(out), clientServer+"/file.bin")
		}})
	ratio(stdout, "httpfetch / aria2c, "+n+" ranges", par[0], par[1], 0)

	fmt.Fprintf(stdout, "\nserver, to curl -o /dev/null (MiB/s):\n")
	devnull := func(base string) func(string) error {
		return func(string) error { return b.tool(ctx, "curl", "-sS", "-f", "-o", "/dev/null", base+"/file.bin") }
	}
	runs := []named{{"httpfetch.Server", devnull(ours)}}
	if nginxErr == nil {
		runs = append(runs, named{"nginx", devnull(nginxURL)})
	}
	srv := append(b.measure(ctx, runs...), 0)
	ratio(stdout, "httpfetch.Server / nginx", srv[0], srv[1], 0.9)
	return nil
}

func mustSize(s string) int64 { n, _ := parseSize(s); return n }

// makeFile writes size random bytes to dir/www/file.bin.
func (b *bench) makeFile() error {
	www := filepath.Join(b.dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return err
	}
	b.src = filepath.Join(www, "file.bin")
	f, err := os.Create(b.src)
	if err != nil {
		return err
	}
	buf := make([]byte, 4<<20)
	rand.Read(buf)
	for left := b.size; left > 0; {
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		buf[0]++ // no two blocks alike
		left -= n
	}
	return f.Close()
}

// measure runs each f rounds times, taking turns so that a change in the
// load of the machine affects all alike; each run writes a fresh output
// file that is checked and removed. It prints the best rate of each and
// returns them (0 for one that could not run).
func (b *bench) measure(ctx context.Context, runs ...named) []float64 {
	best := make([]float64, len(runs))
	failed := make([]bool, len(runs))
	for i := 0; i < b.rounds; i++ {
		for j, r := range runs {
			if failed[j] || ctx.Err() != nil {
				continue
			}
			rate, err := b.once(r.f)
			if errors.Is(err, exec.ErrNotFound) {
				fmt.Fprintf(b.out, "  %-32s skipped: %v\n", r.name, err)
				failed[j] = true
				continue
			}
			if err != nil {
				fmt.Fprintf(b.out, "  %-32s failed: %v\n", r.name, err)
				failed[j], best[j] = true, 0
				continue
			}
			best[j] = max(best[j], rate)
		}
	}
	for j, r := range runs {
		if !failed[j] {
			fmt.Fprintf(b.out, "  %-32s %8.0f\n", r.name, best[j])
		}
	}
	return best
}

// named is one contender of a measure.
type named struct {
	name string
	f    func(out string) error
}

// once runs f into a fresh output file and returns the rate in MiB/s.
func (b *bench) once(f func(out string) error) (float64, error) {
	out := filepath.Join(b.dir, "out.bin")
	os.Remove(out)
	defer os.Remove(out + ".aria2")
	defer os.Remove(out)
	start := time.Now()
	if err := f(out); err != nil {
		return 0, err
	}
	el := time.Since(start)
	if fi, err := os.Stat(out); err == nil && fi.Size() != b.size {
		return 0, fmt.Errorf("got %d bytes, want %d", fi.Size(), b.size)
	}
	return float64(b.size) / (1 << 20) / el.Seconds(), nil
}

func ratio(w io.Writer, what string, ours, theirs, target float64) {
	if ours == 0 || theirs == 0 {
		return
	}
	fmt.Fprintf(w, "  => %s = %.2fx", what, ours/theirs)
	if target > 0 {
		verdict := "met"
		if ours/theirs < target {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, " (target %.1fx: %s)", target, verdict)
	}
	fmt.Fprintln(w)
}

// ourClient runs this program again as our download client.
func (b *bench) ourClient(ctx context.Context, base, out string, parallel int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return b.run(ctx, self, []string{childEnv + "=" + base + "/file.bin " + out + " " + strconv.Itoa(parallel)})
}

// child downloads as told by the environment: "URL OUT PARALLEL".
func child(ctx context.Context, spec string) error {
	f := strings.Fields(spec)
	if len(f) != 3 {
		return fmt.Errorf("bad %s %q", childEnv, spec)
	}
	parallel, err := strconv.Atoi(f[2])
	if err != nil {
		return err
	}
	// NoSync: curl and aria2c do not fsync either.
	c := &httpfetch.Client{Parallel: parallel, NoSync: true, MaxSize: -1}
	defer c.CloseIdleConnections()
	_, err = c.Fetch(ctx, f[0], f[1])
	return err
}

func (b *bench) tool(ctx context.Context, name string, args ...string) error {
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, exec.ErrNotFound)
	}
	return b.run(ctx, path, nil, args...)
}

func (b *bench) run(ctx context.Context, path string, env []string, args ...string) error {
	name := filepath.Base(path)
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (b *bench) startOurs(ctx context.Context) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := &httpfetch.Server{Dir: filepath.Dir(b.src)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	return "http://" + l.Addr().String(), func() { s.Close(); <-done }, nil
}

// startNginx runs nginx on a loopback port from a configuration written
// in the temporary directory.
func (b *bench) startNginx(ctx context.Context) (string, func(), error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return "", nil, errors.New("nginx not installed")
		}
		bin = "/usr/sbin/nginx"
	}
	for try := 0; try < 5; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		addr := l.Addr().String()
		l.Close()
		ndir := filepath.Join(b.dir, fmt.Sprintf("nginx%d", try))
		os.MkdirAll(filepath.Join(ndir, "tmp"), 0o755)
		conf := filepath.Join(ndir, "nginx.conf")
		text := fmt.Sprintf(`worker_processes 1;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    types { application/octet-stream bin; }
    server {
        listen %[2]s;
        root %[3]s;
    }
}
`, ndir, addr, filepath.Dir(b.src))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return "", nil, err
		}
		cmd := exec.Command(bin, "-p", ndir, "-e", filepath.Join(ndir, "error.log"), "-c", conf, "-g", "daemon off;")
		if err := cmd.Start(); err != nil {
			return "", nil, err
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() { cmd.Process.Kill(); <-exited }
		for i := 0; i < 100; i++ {
			select {
			case <-exited:
				i = 100
				continue
			case <-ctx.Done():
				stop()
				return "", nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return "http://" + addr, stop, nil
			}
		}
		stop()
	}
	return "", nil, errors.New("nginx did not start")
}
