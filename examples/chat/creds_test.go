package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"
)

// natsTrust is what nsc makes for a NATS deployment in operator mode:
// an operator, its system account, and an account for the chat servers,
// with JetStream (natshub needs it for its stream and buckets) if js.
type natsTrust struct {
	opJWT          string
	sysPub, sysJWT string
	accPub, accJWT string
	account        nkeys.KeyPair
}

func newNATSTrust(t *testing.T, js bool) *natsTrust {
	t.Helper()
	op := must(t, nkeys.CreateOperator)
	sys := must(t, nkeys.CreateAccount)
	acc := must(t, nkeys.CreateAccount)
	n := &natsTrust{account: acc}
	n.sysPub = must(t, sys.PublicKey)
	n.accPub = must(t, acc.PublicKey)
	oc := jwt.NewOperatorClaims(must(t, op.PublicKey))
	oc.Name = "sockkit-test"
	oc.SystemAccount = n.sysPub
	n.opJWT = must(t, func() (string, error) { return oc.Encode(op) })
	sc := jwt.NewAccountClaims(n.sysPub)
	sc.Name = "SYS"
	n.sysJWT = must(t, func() (string, error) { return sc.Encode(op) })
	ac := jwt.NewAccountClaims(n.accPub)
	ac.Name = "chat"
	if js { // what "nsc edit account --js-mem-storage -1 --js-disk-storage -1 ..." sets
		ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	}
	n.accJWT = must(t, func() (string, error) { return ac.Encode(op) })
	return n
}

// userJWT returns the JWT of a user of the chat account whose public
// key is pub.
func (n *natsTrust) userJWT(t *testing.T, pub string) string {
	t.Helper()
	uc := jwt.NewUserClaims(pub)
	uc.Name = "chat-server"
	return must(t, func() (string, error) { return uc.Encode(n.account) })
}

// creds writes a new user's credentials file, as "nsc generate creds"
// does, and returns its name.
func (n *natsTrust) creds(t *testing.T) string {
	t.Helper()
	u := must(t, nkeys.CreateUser)
	return writeCreds(t, n.userJWT(t, must(t, u.PublicKey)), must(t, u.Seed))
}

func writeCreds(t *testing.T, userJWT string, seed []byte) string {
	t.Helper()
	b, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "chat.creds", b)
}

// swapSeed writes a credentials file with the user's JWT and another
// seed in place of the user's, which jwt.FormatUserConfig refuses to do.
func swapSeed(t *testing.T, userJWT string, seed, other []byte) string {
	t.Helper()
	b, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "chat.creds", bytes.Replace(b, seed, other, 1))
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func must[T any](t *testing.T, f func() (T, error)) T {
	t.Helper()
	v, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startTrustingNATS runs a NATS server in this process that trusts only
// n's operator, with the accounts' JWTs in memory, and returns its URL.
func startTrustingNATS(t *testing.T, n *natsTrust) string {
	t.Helper()
	oc, err := jwt.DecodeOperatorClaims(n.opJWT)
	if err != nil {
		t.Fatal(err)
	}
	res := &server.MemAccResolver{}
	res.Store(n.sysPub, n.sysJWT)
	res.Store(n.accPub, n.accJWT)
	ns, err := server.NewServer(&server.Options{
		Host:             "127.0.0.1",
		Port:             server.RANDOM_PORT,
		JetStream:        true,
		StoreDir:         t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{oc},
		AccountResolver:  res,
		SystemAccount:    n.sysPub,
		NoLog:            true,
		NoSigs:           true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	return ns.ClientURL()
}

var natsListening = regexp.MustCompile(`Listening for client connections on 127\.0\.0\.1:(\d+)`)

// startTrustingNATSBinary is startTrustingNATS with Debian's nats-server,
// configured as its documentation says for operator mode with the
// memory resolver: operator, system_account, resolver MEMORY and
// resolver_preload, and JetStream.
func startTrustingNATSBinary(t *testing.T, n *natsTrust) string {
	t.Helper()
	var bin string
	for _, p := range []string{"nats-server", "/usr/sbin/nats-server"} {
		if b, err := exec.LookPath(p); err == nil {
			bin = b
			break
		}
	}
	if bin == "" {
		t.Skip("nats-server is not installed (Debian package nats-server)")
	}
	dir := t.TempDir()
	opFile := filepath.Join(dir, "operator.jwt")
	if err := os.WriteFile(opFile, []byte(n.opJWT), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`host: 127.0.0.1
port: -1
operator: %q
system_account: %s
resolver: MEMORY
resolver_preload: {
  %s: %q
  %s: %q
}
jetstream: {store_dir: %q}
`, opFile, n.sysPub, n.sysPub, n.sysJWT, n.accPub, n.accJWT, filepath.Join(dir, "js"))
	confFile := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confFile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	found := make(chan string, 1)
	var log clitest.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(&log, sc.Text())
			if m := natsListening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var port string
	select {
	case port = <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("nats-server did not say which port it listens on:\n%s", log.String())
	}
	addr := "127.0.0.1:" + port
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr) // it prints the line before it accepts
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server does not accept: %v", err)
		}
	}
	return "nats://" + addr
}

// serveCreds runs "chat serve -nats url -nats-creds creds" in-process.
func serveCreds(t *testing.T, url, creds string) *clitest.Program {
	t.Helper()
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, nil, stdout, stderr)
	}
	return clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0", "-console=false", "-nats", url, "-nats-creds", creds)
}

// ncUser is a client the way nc is one: a TCP connection, lines in and
// out, nothing more.
type ncUser struct {
	t     *testing.T
	c     net.Conn
	lines *bufio.Scanner
}

func ncJoin(t *testing.T, addr, nick string) *ncUser {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	u := &ncUser{t: t, c: c, lines: bufio.NewScanner(c)}
	u.send(nick)
	u.waitFor("JOIN lobby " + nick)
	return u
}

func (u *ncUser) send(line string) {
	u.t.Helper()
	if _, err := io.WriteString(u.c, line+"\n"); err != nil {
		u.t.Fatal(err)
	}
}

// waitFor reads lines until want, and returns those before it.
func (u *ncUser) waitFor(want string) []string {
	u.t.Helper()
	var seen []string
	for u.lines.Scan() {
		if u.lines.Text() == want {
			return seen
		}
		seen = append(seen, u.lines.Text())
	}
	u.t.Fatalf("no %q (%v) after:\n%s", want, u.lines.Err(), strings.Join(seen, "\n"))
	return nil
}

// TestServeNATSCreds: two servers that log in to a NATS server in
// operator mode with a user's credentials file share the lobby.
func TestServeNATSCreds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(*testing.T, *natsTrust) string
	}{
		{"embedded", startTrustingNATS},
		{"nats-server", startTrustingNATSBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trust := newNATSTrust(t, true)
			url := tc.start(t, trust)
			creds := trust.creds(t)
			a := serveCreds(t, url, creds)
			b := serveCreds(t, url, creds) // one user, two connections
			for _, p := range []*clitest.Program{a, b} {
				clitest.WaitFor(t, &p.Stdout, `chat: rooms shared through NATS`)
			}
			ann := ncJoin(t, clitest.WaitFor(t, &a.Stdout, `chat: serving on (\S+)`), "ann")
			bob := ncJoin(t, clitest.WaitFor(t, &b.Stdout, `chat: serving on (\S+)`), "bob")
			ann.waitFor("JOIN lobby bob")
			bob.send("hi ann, from the other server")
			ann.waitFor("MSG lobby bob hi ann, from the other server")
			ann.send("hi bob")
			bob.waitFor("MSG lobby ann hi bob")
		})
	}
}

// TestServeNATSBadCreds: credentials that NATS refuses, or that cannot
// be read, stop "chat serve" at once with an error that says so, rather
// than leaving it local-only, retrying in silence what cannot succeed.
func TestServeNATSBadCreds(t *testing.T) {
	t.Parallel()
	for _, srv := range []struct {
		name  string
		start func(*testing.T, *natsTrust) string
	}{
		{"embedded", startTrustingNATS},
		{"nats-server", startTrustingNATSBinary},
	} {
		t.Run(srv.name, func(t *testing.T) {
			trust := newNATSTrust(t, true)
			url := srv.start(t, trust)
			u := must(t, nkeys.CreateUser)
			v := must(t, nkeys.CreateUser)
			uJWT, uSeed := trust.userJWT(t, must(t, u.PublicKey)), must(t, u.Seed)
			for _, tc := range []struct {
				name, creds, want string
			}{
				{"another operator's user", newNATSTrust(t, true).creds(t), "NATS refused the credentials"},
				{"another user's seed", swapSeed(t, uJWT, uSeed, must(t, v.Seed)), "NATS refused the credentials"},
				{"bad seed", swapSeed(t, uJWT, uSeed, []byte("SUAGARBAGE")), "chat.creds\": nkeys: invalid checksum"},
				{"not a creds file", writeFile(t, "x.creds", []byte("hello\n")), "x.creds\": nkeys: no nkey seed found"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					// The bound is for a failure: serve hanging would be
					// stopped by it and return nil.
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					var stdout, stderr clitest.Buffer
					err := run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-console=false", "-nats", url, "-nats-creds", tc.creds}, nil, &stdout, &stderr)
					if err == nil || errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("serve: %v, want an error with %q", err, tc.want)
					}
					if stdout.String() != "" {
						t.Errorf("serve printed:\n%s", stdout.String())
					}
				})
			}
		})
	}
}

// TestServeNATSCredsNoJetStream: credentials NATS accepts, for an account
// without JetStream, leave the rooms local-only, saying so, and the log
// says why; the Hub keeps trying, for an account JWT that gains it.
func TestServeNATSCredsNoJetStream(t *testing.T) {
	t.Parallel()
	trust := newNATSTrust(t, false)
	p := serveCreds(t, startTrustingNATS(t, trust), trust.creds(t))
	clitest.WaitFor(t, &p.Stdout, `chat: NATS at \S+ cannot share the rooms yet \(not reachable, or no JetStream for the account\); rooms are local-only until it can`)
	clitest.WaitFor(t, &p.Stdout, `chat: serving on`)
	clitest.WaitFor(t, &p.Stderr, `cannot share the rooms through NATS; retrying" err=".*JetStream not enabled for account`)
}
