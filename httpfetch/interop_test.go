package httpfetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startNginx serves dir with nginx on a loopback port, from a config
// written in a temporary directory, and returns the base URL. It skips
// the test when nginx is not installed.
func startNginx(t *testing.T, dir string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Skip("nginx not installed (Debian package nginx)")
		}
		bin = "/usr/sbin/nginx"
	}
	for try := 0; try < 5; try++ {
		// Ask the kernel for a free port, then give it to nginx.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		conf := nginxConfig(t.TempDir(), addr, dir)
		cmd := exec.Command(bin, "-p", filepath.Dir(conf), "-e", filepath.Join(filepath.Dir(conf), "error.log"), "-c", conf, "-g", "daemon off;")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for i := 0; i < 100; i++ {
			select {
			case <-exited:
				i = 100
				continue
			default:
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Cleanup(func() {
					cmd.Process.Kill()
					<-exited
				})
				return "http://" + addr
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		<-exited
		t.Logf("nginx did not start on %s: %s", addr, out.String())
	}
	t.Fatal("could not start nginx")
	return ""
}

// nginxConfig writes an nginx configuration that serves root on addr,
// with every path (pid, logs, temp files) inside dir, and returns its
// path. nginx runs as one process (master_process off), so that it needs
// no user switch when the tests run as root.
func nginxConfig(dir, addr, root string) string {
	conf := filepath.Join(dir, "nginx.conf")
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
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
    types { application/octet-stream bin; text/plain txt; }
    server {
        listen %[2]s;
        root %[3]s;
    }
}
`, dir, addr, root)
	os.WriteFile(conf, []byte(text), 0o644)
	return conf
}

func TestFetchFromNginx(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := testData(3<<20+5, 21)
	must(t, os.WriteFile(filepath.Join(root, "file.bin"), data, 0o644))
	base := startNginx(t, root)
	sum := sha256.Sum256(data)

	c := testClient()
	c.MinPartSize = 512 << 10
	defer c.CloseIdleConnections()
	dest := filepath.Join(t.TempDir(), "file.bin")
	res, err := c.Download(context.Background(), Request{URL: base + "/file.bin", Dest: dest, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.Parts != 4 || res.Validator == "" {
		t.Errorf("from nginx: %+v", res)
	}
	t.Logf("nginx validator %s, %d parts", res.Validator, res.Parts)

	// Resume a partial download with nginx's ETag as If-Range.
	dest2 := filepath.Join(t.TempDir(), "file.bin")
	must(t, os.WriteFile(dest2+".part", data[:1<<20], 0o644))
	must(t, saveState(dest2+".part.state", &state{URL: base + "/file.bin", Validator: res.Validator, Size: int64(len(data)), Ranges: true,
		Parts: []*part{{First: 0, Last: int64(len(data)) - 1, Next: 1 << 20}}}, false))
	res, err = c.Fetch(context.Background(), base+"/file.bin", dest2)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest2, data)
	if res.Resumed != 1<<20 || res.Restarts != 0 {
		t.Errorf("resume from nginx: %+v", res)
	}

	// The file changes on the server: a stale partial download starts over.
	data2 := testData(2<<20, 22)
	must(t, os.WriteFile(filepath.Join(root, "file.bin"), data2, 0o644))
	must(t, os.Chtimes(filepath.Join(root, "file.bin"), time.Now(), time.Now().Add(time.Hour)))
	dest3 := filepath.Join(t.TempDir(), "file.bin")
	must(t, os.WriteFile(dest3+".part", data[:1<<20], 0o644))
	must(t, saveState(dest3+".part.state", &state{URL: base + "/file.bin", Validator: res.Validator, Size: int64(len(data)), Ranges: true,
		Parts: []*part{{First: 0, Last: int64(len(data)) - 1, Next: 1 << 20}}}, false))
	res, err = c.Fetch(context.Background(), base+"/file.bin", dest3)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest3, data2)
	if res.Restarts != 1 {
		t.Errorf("changed file on nginx: %+v", res)
	}
}

// TestRangesLikeNginx sends the edge cases of rangeCases to nginx: it
// answers them as our server does, except where rangeCase.nginx says
// otherwise, and then as that says.
func TestRangesLikeNginx(t *testing.T) {
	t.Parallel()
	base := startNginx(t, rangeDir(t))
	for _, c := range rangeCases {
		t.Run(c.file+" "+c.rng+" "+c.ifRange, func(t *testing.T) {
			want := c.want()
			if c.nginx != "" {
				want, _, _ = strings.Cut(c.nginx, ":")
			}
			checkRange(t, base, c, want)
		})
	}
}
