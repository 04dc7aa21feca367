package httpfetch

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestResumeAfterKills kills a downloading child process with SIGKILL at
// random points, again and again, and then lets one finish. After every
// kill, whatever resume state is on disk must describe bytes that the
// .part really holds; the runs after the first saved state must resume
// (a download that saved its state only when it stops would never have
// saved one: SIGKILL gives it no chance); and the file must come out
// byte for byte.
func TestResumeAfterKills(t *testing.T) {
	const kills = 20
	data := testData(48<<20, 41)
	// At most 6 MB/s on each of two connections: a run killed after
	// 50 to 400 ms moves a few of the 48 MiB, and writes them in steps
	// of flushSize.
	srv := newSlowFile(t, data, func(s *slowFile) { s.chunk, s.delay = 32<<10, 5*time.Millisecond })
	dest := filepath.Join(t.TempDir(), "out.bin")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	env := []string{"HTTPFETCH_TEST_STATE_EVERY=20ms", "HTTPFETCH_TEST_PARALLEL=2"}

	var killed, resumed int
	var res *Result
	for run := 0; res == nil; run++ {
		agent := fmt.Sprint("run-", run)
		ch := startChild(t, agent, srv.URL, dest, false, env...)
		if killed == kills {
			res = ch.result(t)
			break
		}
		// Kill it a random while after its first request, while the
		// bytes flow.
		for deadline := time.Now().Add(time.Minute); srv.requestsFrom(agent) == 0 && time.Now().Before(deadline); {
			select {
			case <-ch.done:
				t.Fatalf("%s ended before its first request: %v\n%s", agent, ch.err, ch.stderr.String())
			case <-time.After(2 * time.Millisecond):
			}
		}
		select {
		case <-ch.done:
			res = ch.result(t) // it finished first
		case <-time.After(50*time.Millisecond + time.Duration(rng.Int64N(int64(350*time.Millisecond)))):
			ch.cmd.Process.Kill()
			<-ch.done
			killed++
		}
		if strings.Contains(ch.stderr.String(), "msg=\"httpfetch: resuming\"") {
			resumed++
		}
		if res == nil {
			checkStateHolds(t, dest, data)
		}
	}
	t.Logf("%d kills, %d runs resumed, last run resumed %d of %d bytes", killed, resumed, res.Resumed, len(data))
	checkFile(t, dest, data)
	checkAlone(t, dest)
	if resumed == 0 {
		t.Errorf("no run resumed after %d kills: the resume state was not saved while downloading", killed)
	}
}

// checkStateHolds fails t unless the resume state beside dest, if there
// is one, can be read and describes only bytes that dest.part holds and
// that are those of data.
func checkStateHolds(t *testing.T, dest string, data []byte) {
	t.Helper()
	b, err := os.ReadFile(dest + ".part.state")
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(b)
	if err != nil {
		t.Fatalf("state after a kill: %v: %q", err, b)
	}
	part, err := os.ReadFile(dest + ".part")
	if err != nil {
		t.Fatalf("a state without its .part: %v", err)
	}
	for _, p := range st.Parts {
		if p.Next > p.First && p.Next > int64(len(part)) {
			t.Fatalf("state says part %d-%d holds up to %d; the .part has %d bytes", p.First, p.Last, p.Next, len(part))
		}
		if !bytes.Equal(part[p.First:p.Next], data[p.First:p.Next]) {
			t.Fatalf("state says part %d-%d holds up to %d, but those bytes are wrong", p.First, p.Last, p.Next)
		}
	}
}
