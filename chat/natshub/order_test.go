package natshub

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOneOrder: three servers, two users on each, all sending at once;
// every member sees every message, in one and the same order.
func TestOneOrder(t *testing.T) {
	noLeaks(t)
	ns := startEmbedded(t)
	const servers, perServer, each = 3, 2, 40
	var users []*user
	for i := range servers {
		n := startNode(t, ns.URL(), testOptions())
		for j := range perServer {
			users = append(users, dial(t, n.addr, fmt.Sprintf("u%d-%d", i, j)))
		}
	}
	// Everyone has seen everyone join: the last one's JOIN is the last line
	// before the messages.
	last := users[len(users)-1].nick
	for _, u := range users[:len(users)-1] {
		u.until("JOIN lobby " + last)
	}
	cols := make([]*collector, len(users))
	for i, u := range users {
		cols[i] = collect(u, func(l string) bool { return strings.HasPrefix(l, "MSG ") || strings.HasPrefix(l, "ERR ") })
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for k := range each {
				fmt.Fprintf(&b, "%s says %d\n", u.nick, k)
			}
			u.c.Write([]byte(b.String()))
		}()
	}
	wg.Wait()
	want := len(users) * each
	deadline := time.Now().Add(bound)
	for _, c := range cols {
		for c.count() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, u := range users {
		u.c.Close()
	}
	first := cols[0].wait()
	if len(first) != want {
		t.Fatalf("%s got %d lines, want %d: %q", users[0].nick, len(first), want, first)
	}
	for i, c := range cols[1:] {
		if diff := cmp.Diff(first, c.wait()); diff != "" {
			t.Errorf("%s and %s saw different sequences (-%s +%s):\n%s", users[0].nick, users[i+1].nick, users[0].nick, users[i+1].nick, diff)
		}
	}
	// Each sender's lines keep their order too.
	next := make(map[string]int)
	for _, l := range first {
		var nick string
		var k int
		if _, err := fmt.Sscanf(l, "MSG lobby %s %s says %d", &nick, new(string), &k); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if next[nick] != k {
			t.Fatalf("%s's line %d came when %d was due", nick, k, next[nick])
		}
		next[nick]++
	}
}
