package chat

import (
	"strings"
	"sync"
	"testing"
)

// sharedHub is a Hub that is also a SenderHub and a Directory, as one
// over a network would be: "remote" is a client of another server, and
// nicknames starting with "taken" belong to others.
type sharedHub struct {
	LocalHub
	mu       sync.Mutex
	senders  []string // nickname of each PublishFrom's sender
	claims   []string // "old>nick" of each Claim
	released []string
	private  []string // lines sent to other servers
}

func (h *sharedHub) PublishFrom(room string, from Member, line []byte) {
	h.mu.Lock()
	h.senders = append(h.senders, from.Nick())
	h.mu.Unlock()
	if strings.Contains(string(line), " lost") {
		from.Deliver([]byte("ERR " + CodeNotDelivered + " nobody got it\n"))
		return
	}
	h.LocalHub.Publish(room, line)
}

func (h *sharedHub) Claim(m Member, old, nick string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims = append(h.claims, old+">"+nick)
	return !strings.HasPrefix(strings.ToLower(nick), "taken")
}

func (h *sharedHub) Release(m Member, nick string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.released = append(h.released, nick)
}

func (h *sharedHub) Lookup(nick string) (string, bool) {
	if strings.EqualFold(nick, "remote") {
		return "Remote", true
	}
	return "", false
}

func (h *sharedHub) Private(from Member, to string, line []byte) {
	h.mu.Lock()
	h.private = append(h.private, string(line))
	h.mu.Unlock()
	from.Deliver(line)
}

func TestSharedHub(t *testing.T) {
	t.Parallel()
	h := new(sharedHub)
	addr, stop := start(t, &Server{Hub: h})
	a := login(t, addr, "ann")

	// The Directory refuses a nickname: ann keeps hers, here too.
	a.send("/nick taken1\n")
	a.expect("ERR nick-taken taken1 is taken; choose another nickname")
	b := dialRaw(t, addr)
	b.line() // HELLO
	b.send("ann\n")
	b.expect("ERR nick-taken ann is taken; choose another nickname")
	b.send("bob\n")
	b.until("JOIN lobby bob")

	// A private message to a client of another server goes through it.
	a.send("/msg REMOTE psst\n")
	a.until("PRIV ann Remote psst")
	// A line the Hub could not carry brings its sender an ERR.
	a.send("this one is lost\n")
	a.until("ERR not-delivered nobody got it")
	a.send("/quit\n")
	a.until("BYE quit goodbye")
	b.until("QUIT lobby ann")
	stop()

	h.mu.Lock()
	defer h.mu.Unlock()
	if got := strings.Join(h.claims, " "); got != ">ann ann>taken1 >bob" {
		t.Errorf("claims %q", got)
	}
	if got := strings.Join(h.released, " "); got != "ann bob" && got != "bob ann" {
		t.Errorf("released %q", got)
	}
	if len(h.private) != 1 || h.private[0] != "PRIV ann Remote psst\n" {
		t.Errorf("private %q", h.private)
	}
	for _, s := range h.senders {
		if s == "" {
			t.Errorf("a line without its sender: %q", h.senders)
		}
	}
}

// TestSharedHubIRC checks that IRC clients see the other servers' users
// as nc users do: PRIVMSG, WHOIS, ISON and WHO find them through the
// Directory.
func TestSharedHubIRC(t *testing.T) {
	t.Parallel()
	h := new(sharedHub)
	_, irc, stop := startBoth(t, &Server{Hub: h})
	defer stop()
	r := ircLogin(t, irc, "ircy")

	r.send("PRIVMSG remote :psst\r\n")
	r.send("WHOIS REMOTE\r\n")
	r.until(num("311", "ircy", "Remote Remote sockkit * :Remote"))
	r.expect(num("312", "ircy", "Remote sockkit :sockkit chat"))
	r.expect(num("318", "ircy", "REMOTE :End of /WHOIS list"))
	r.send("ISON nobody remote\r\n")
	r.expect(num("303", "ircy", ":Remote"))
	r.send("WHO remote\r\n")
	r.expect(num("352", "ircy", "* Remote sockkit sockkit Remote H :0 Remote"))
	r.expect(num("315", "ircy", "remote :End of /WHO list"))
	r.send("PRIVMSG nobody :hello?\r\n")
	r.expect(num("401", "ircy", "nobody :No such nick/channel"))

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.private) != 1 || h.private[0] != "PRIV ircy Remote psst\n" {
		t.Errorf("private %q, want the PRIVMSG passed to the Directory", h.private)
	}
}
