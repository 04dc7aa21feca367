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
// random points, again and again, and then lets one finish. Each run is
// killed a random while (up to 200 ms) after it has saved its first
// resume state, which it must do while it downloads: a download that
// saved its state only when it stops would never save one (SIGKILL gives
// it no chance), and the test fails saying so. After every kill, the
// state on disk must describe bytes that the .part really holds; every
// run after the first must resume; the file must come out byte for byte.
func TestResumeAfterKills(t *testing.T) {
	t.Parallel()
	const kills = 20
	data := testData(64<<20, 41)
	// At most 3 MB/s on each of two connections: a run moves about 2 MB
	// before it is killed, so that 20 runs do not finish the 64 MiB.
	srv := newSlowFile(t, data, func(s *slowFile) { s.chunk, s.delay = 32<<10, 10*time.Millisecond })
	dest := filepath.Join(t.TempDir(), "out.bin")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	env := []string{"HTTPFETCH_TEST_STATE_EVERY=20ms", "HTTPFETCH_TEST_PARALLEL=2"}

	var runs, resumed, killed int
	var res *Result
	for ; res == nil; runs++ {
		before := heldInState(t, dest)
		ch := startChild(t, fmt.Sprint("run-", runs), srv.URL, dest, false, env...)
		if killed == kills {
			res = ch.result(t)
		} else if saved := waitSaved(t, ch, dest, before); !saved {
			res = ch.result(t) // it finished before it saved again
		} else {
			select {
			case <-ch.done:
				res = ch.result(t)
			case <-time.After(time.Duration(rng.Int64N(int64(200 * time.Millisecond)))):
				ch.cmd.Process.Kill()
				<-ch.done
				killed++
				checkStateHolds(t, dest, data)
			}
		}
		if strings.Contains(ch.stderr.String(), `msg="httpfetch: resuming"`) {
			resumed++
		}
	}
	t.Logf("%d runs, %d resumed, the last one %d of %d bytes", runs, resumed, res.Resumed, len(data))
	checkFile(t, dest, data)
	checkAlone(t, dest)
	if killed != kills {
		t.Errorf("%d runs killed, want %d: a run ended without saving a state", killed, kills)
	}
	if resumed != runs-1 {
		t.Errorf("%d of the %d runs after the first resumed, want all", resumed, runs-1)
	}
}

// waitSaved waits until the resume state beside dest holds more than
// before, and reports true, or until the child ends, and reports false.
// It fails t if neither happens within a minute: the child does not save
// its state while it downloads.
func waitSaved(t *testing.T, ch *child, dest string, before int64) bool {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if heldInState(t, dest) > before {
			return true
		}
		select {
		case <-ch.done:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	t.Fatalf("no resume state saved within a minute of downloading; stderr:\n%s", ch.stderr.String())
	return false
}

// heldInState returns the bytes that the resume state beside dest says
// are held, 0 if there is none.
func heldInState(t *testing.T, dest string) int64 {
	t.Helper()
	b, err := os.ReadFile(dest + ".part.state")
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(b)
	if err != nil {
		t.Fatalf("resume state: %v: %q", err, b)
	}
	return st.held()
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
