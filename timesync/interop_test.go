package timesync

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"
)

// TestInteropBeevikNTP: github.com/beevik/ntp queries our server and
// accepts its replies.
func TestInteropBeevikNTP(t *testing.T) {
	t.Parallel()
	addr := startServer(t, &Server{})
	for _, version := range []int{3, 4} {
		r, err := ntp.QueryWithOptions(addr, ntp.QueryOptions{Version: version, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("v%d: beevik/ntp rejects the reply: %v", version, err)
		}
		if r.Stratum != 1 || r.ReferenceString() != ".LOCL." || r.Leap != ntp.LeapNoWarning {
			t.Errorf("v%d: stratum %d, refid %s, leap %v", version, r.Stratum, r.ReferenceString(), r.Leap)
		}
		t.Logf("beevik/ntp v%d: offset %v, rtt %v", version, r.ClockOffset, r.RTT)
	}
}

func need(t *testing.T, cmd, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(cmd)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s)", cmd, pkg)
	}
	return p
}

// freeUDPPort returns a loopback UDP port that was free a moment ago,
// for a peer that must be given a port number.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// startChronyd runs chronyd in the foreground as an NTP server on a
// loopback port, with every file in a temporary directory, until the test
// ends. It does not touch the system clock (-x).
func startChronyd(t *testing.T) string {
	t.Helper()
	chronyd := need(t, "chronyd", "chrony")
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := fmt.Sprintf(`port %d
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 10
cmdport 0
bindcmdaddress /
pidfile %s
driftfile %s
`, port, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"))
	confPath := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-d", "-x", "-f", confPath}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // keep the files in dir readable
	}
	var log strings.Builder
	cmd := exec.Command(chronyd, args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Skipf("chronyd does not start: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("chronyd log:\n%s", log.String())
		}
	})
	select {
	case <-exited:
		t.Skipf("chronyd exited at once:\n%s", log.String())
	case <-time.After(100 * time.Millisecond):
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// TestInteropClientQueriesChronyd: our client queries chronyd serving on
// a loopback port.
func TestInteropClientQueriesChronyd(t *testing.T) {
	t.Parallel()
	addr := startChronyd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := Client{Samples: 4, Timeout: 200 * time.Millisecond}
	var r *Response
	var err error
	for ctx.Err() == nil { // until chronyd answers
		if r, err = cl.Query(ctx, addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Query of chronyd: %v", err)
	}
	if r.Stratum != 10 || r.Leap != LeapNone || r.Samples != 4 {
		t.Errorf("chronyd response %+v", r)
	}
	t.Logf("chronyd: offset %v, delay %v, stratum %d, refid %s", r.Offset, r.Delay, r.Stratum, RefIDString(r.Stratum, r.RefID))
}

var chronyOffset = regexp.MustCompile(`System clock wrong by (-?[0-9.]+) seconds`)

// TestInteropChronydQueriesServer: chronyd -Q measures our server and
// accepts it as a source.
func TestInteropChronydQueriesServer(t *testing.T) {
	t.Parallel()
	chronyd := need(t, "chronyd", "chrony")
	addr := startServer(t, &Server{PacketsPerSecond: -1})
	host, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "chrony.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("cmdport 0\nbindcmdaddress /\npidfile %s\n", filepath.Join(dir, "pid"))), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-Q", "-f", conf, "-t", "20"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	args = append(args, fmt.Sprintf("server %s port %s iburst minpoll -6 maxpoll -6 maxsamples 4", host, port))
	out, err := exec.CommandContext(ctx, chronyd, args...).CombinedOutput()
	m := chronyOffset.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("chronyd -Q: %v\n%s", err, out)
	}
	t.Logf("chronyd -Q: offset %s s", m[1])
}

// TestInteropNtpdig: ntpdig queries our server. It has no port option,
// so the server runs on 127.0.0.2:123, which needs root.
func TestInteropNtpdig(t *testing.T) {
	t.Parallel()
	ntpdig := need(t, "ntpdig", "ntpsec-ntpdig")
	if os.Geteuid() != 0 {
		t.Skip("ntpdig needs the server on port 123, which needs root")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.2:123")
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2:123: %v", err)
	}
	srv := &Server{}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.Background(), pc) }()
	defer func() { srv.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ntpdig, "-t", "5", "127.0.0.2").CombinedOutput()
	if err != nil {
		t.Fatalf("ntpdig: %v\n%s", err, out)
	}
	// "2026-11-22 02:30:23.381410 (+0000) +0.000004 +/- 0.000085 127.0.0.2 s1 no-leap"
	if !strings.Contains(string(out), "127.0.0.2 s1 no-leap") {
		t.Errorf("ntpdig output: %s", out)
	}
	t.Logf("ntpdig: %s", strings.TrimSpace(string(out)))
}
