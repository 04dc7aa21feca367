package udpcolor

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/dgram"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// OperatorName is the reserved name of the server's operator: the name
// of what [Server.Say] sends, and of every answer to a plain sender. No
// member may join under it, in any letter case, and a plain datagram in
// that name is never answered.
const OperatorName = "server"

// Defaults of the plain dialect, used where a [Server] field is zero.
const (
	DefaultPlainRate      = 10 // plain lines per second, all plain senders together
	DefaultPlainRelayRate = 1  // plain lines per second relayed to members, all plain senders together
)

// plainAck is the text of the automatic answer to a plain line, sent as
// "server : received".
const plainAck = "received"

// plainRepeats is how many times in a row the same datagram from the same
// source is answered automatically.
const plainRepeats = 3

// maxPlainPeers bounds the table of plain senders.
const maxPlainPeers = 256

// maxPlainCredit bounds what a plain sender may be owed, in bytes on the
// wire: three times one datagram of the largest size.
const maxPlainCredit = admit.Factor * (MaxDatagram + admit.Overhead)

// ErrOverBudget is wrapped by every [BudgetError].
var ErrOverBudget = errors.New("udpcolor: more than three times what the plain sender sent")

// BudgetError is the error of [Server.Say] when its line was not sent to
// the last plain sender because that would have sent it more than three
// times the bytes it has sent (counted on the wire, see the package
// documentation). The members got the line all the same. It wraps
// [ErrOverBudget].
type BudgetError struct {
	Name string // the plain sender's, sanitised
	Size int    // the bytes of the line that was not sent
	Room int    // the bytes of a line that could still be sent it, until it sends again
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("udpcolor: not sent to %s (unverified): more than three times what it sent (the line is %d bytes, %d would fit until it sends again)", e.Name, e.Size, e.Room)
}

// Unwrap returns [ErrOverBudget].
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// PlainMode says what a [Server] does with datagrams of the plain
// dialect, the tutorial's "name : text" (see the package documentation).
type PlainMode int

const (
	// PlainRelayed, the zero value, shows plain lines in the Transcript,
	// answers them, and relays them to the members as "plain NAME :
	// TEXT" within [Server.PlainRelayRate].
	PlainRelayed PlainMode = iota
	// PlainShown shows and answers plain lines but never relays them.
	PlainShown
	// PlainOff drops plain datagrams unanswered, as any other datagram
	// that is not of the protocol.
	PlainOff
)

// parsePlain parses a datagram of the plain dialect: "NAME : TEXT",
// byte by byte as the package documentation describes.
func parsePlain(b []byte) (name, text string, err error) {
	if len(b) > MaxDatagram {
		return "", "", bad(0, "plain line too large")
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	s := string(b)
	if err := textsafe.Check(s); err != nil {
		return "", "", bad(0, "plain line: "+err.Error())
	}
	name, text, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", bad(0, "plain line without a colon")
	}
	name, text = strings.Trim(name, " \t"), strings.Trim(text, " \t")
	if !validPlainName(name) {
		return "", "", bad(0, "plain line: bad name")
	}
	if text == "" || len(text) > MaxText {
		return "", "", bad(0, "plain line: text empty or too long")
	}
	return name, text, nil
}

// validPlainName reports whether name may be a plain sender's: a valid
// name ([ValidName]) that starts with a letter, so that a time of day
// ("14:05:09") or a date is not taken for a name.
func validPlainName(name string) bool {
	return ValidName(name) && (name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z')
}

// protocolVerb reports whether the first word of b (up to its first
// space, after one trailing LF or CR LF) is a verb of the protocol, of
// this version or another: such a datagram is never read as plain.
func protocolVerb(b []byte) bool {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	verb, _, _ := bytes.Cut(b, []byte{' '})
	for _, k := range kindNames {
		if k != "" && string(verb) == k {
			return true
		}
	}
	return string(verb) == "join" || bytes.HasPrefix(verb, []byte("join/"))
}

// plainPeer is what the server remembers of a plain sender, for at most
// MemberTimeout after its last datagram.
type plainPeer struct {
	addr    netip.AddrPort
	c       *conn
	name    string    // in its last line shown
	credit  int       // the bytes, on the wire, it may still be sent
	last    uint64    // the hash of its last datagram
	repeats int       // how many times in a row it has sent that datagram
	seen    time.Time // its last datagram
}

// plainTable holds the plain senders, at most maxPlainPeers of them.
type plainTable struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[netip.AddrPort]*plainPeer
	last *plainPeer // the sender of the last line shown
}

func newPlainTable() *plainTable {
	return &plainTable{seed: maphash.MakeSeed(), m: make(map[netip.AddrPort]*plainPeer)}
}

// note records a datagram b from an address at now, adds to the
// sender's credit, and reports whether an automatic answer to it is
// allowed by the rule of repeats.
func (t *plainTable) note(from netip.AddrPort, c *conn, b []byte, now time.Time, timeout time.Duration) (*plainPeer, bool) {
	h := maphash.Bytes(t.seed, b)
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[from]
	if p != nil && now.Sub(p.seen) > timeout {
		t.remove(p)
		p = nil
	}
	if p == nil {
		if len(t.m) >= maxPlainPeers {
			t.evict(now, timeout)
		}
		p = &plainPeer{addr: from, c: c}
		t.m[from] = p
	}
	if p.repeats > 0 && p.last == h {
		p.repeats++
	} else {
		p.last, p.repeats = h, 1
	}
	p.c, p.seen = c, now
	p.credit = min(p.credit+admit.Factor*(len(b)+admit.Overhead), maxPlainCredit)
	return p, p.repeats <= plainRepeats
}

// evict makes room: it forgets the senders silent for longer than
// timeout, or else the one silent for longest.
func (t *plainTable) evict(now time.Time, timeout time.Duration) {
	var oldest *plainPeer
	for _, p := range t.m {
		if now.Sub(p.seen) > timeout {
			t.remove(p)
		} else if oldest == nil || p.seen.Before(oldest.seen) {
			oldest = p
		}
	}
	if len(t.m) >= maxPlainPeers && oldest != nil {
		t.remove(oldest)
	}
}

func (t *plainTable) remove(p *plainPeer) {
	delete(t.m, p.addr)
	if t.last == p {
		t.last = nil
	}
}

// shown makes p, whose line named name, the last plain sender.
func (t *plainTable) shown(p *plainPeer, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[p.addr] == p {
		p.name = name
		t.last = p
	}
}

// lastPeer returns the last plain sender, with its address, conn and
// name as they are now, unless it has been silent for longer than
// timeout.
func (t *plainTable) lastPeer(now time.Time, timeout time.Duration) (p *plainPeer, to netip.AddrPort, c *conn, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil || now.Sub(t.last.seen) > timeout {
		return nil, netip.AddrPort{}, nil, ""
	}
	return t.last, t.last.addr, t.last.c, t.last.name
}

// spend takes the cost on the wire of an n-byte datagram from p's
// credit, and reports whether there was enough; if not, room is the
// largest datagram there is credit for.
func (t *plainTable) spend(p *plainPeer, n int) (room int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cost := n + admit.Overhead; p.credit >= cost {
		p.credit -= cost
		return 0, true
	}
	return max(0, p.credit-admit.Overhead), false
}

// plainLimiter returns a limiter of perSecond events in bursts of five
// seconds' worth, or nil for a negative rate (no limit).
func plainLimiter(perSecond float64) *rate.Limiter {
	if perSecond < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(math.Ceil(5*perSecond))))
}

// plain handles d, a datagram from an address that nothing proves, whose
// first word is not a verb of the protocol.
func (s *Server) plain(c *conn, w *dgram.Writer, d *dgram.Datagram, from netip.AddrPort, now time.Time) {
	if s.Plain == PlainOff {
		s.gate.Counters.Drop(admit.Malformed)
		s.log(slog.LevelDebug, "udpcolor: dropped datagram of no protocol", "from", from)
		return
	}
	name, text, err := parsePlain(d.Data)
	if err != nil {
		// Garbage gets no answer: an answer to garbage could be the start
		// of a loop with another service that answers garbage.
		s.gate.Counters.Drop(admit.Malformed)
		s.log(slog.LevelDebug, "udpcolor: dropped datagram of no protocol", "from", from, "err", err)
		return
	}
	if strings.EqualFold(name, OperatorName) {
		// What udpcolor servers answer plain lines with: an echo of this
		// server's answer, or another server's answer to a spoofed line.
		s.gate.Counters.Drop(admit.Malformed)
		s.log(slog.LevelDebug, "udpcolor: dropped plain line in the operator's name", "from", from)
		return
	}
	if s.plainLim != nil && !s.plainLim.AllowN(now, 1) {
		s.gate.Counters.Drop(admit.Rate)
		s.log(slog.LevelDebug, "udpcolor: dropped plain line over the plain senders' rate", "from", from)
		return
	}
	peer, answer := s.plainPeers.note(from, c, d.Data, now, s.memberTimeout())
	s.mu.Lock()
	taken := s.members[strings.ToLower(name)] != nil
	s.mu.Unlock()
	if taken {
		if answer {
			s.plainAnswer(w, d, peer, "the name "+name+" is a member's; choose another")
		}
		return
	}
	s.stats.plain.Add(1)
	s.plainPeers.shown(peer, name)
	s.log(slog.LevelDebug, "udpcolor: plain line", "from", from, "name", name)
	if s.render != nil {
		s.render.Message(name, text)
	}
	if s.Plain == PlainRelayed && (s.plainRelayLim == nil || s.plainRelayLim.AllowN(now, 1)) {
		if out, err := (Packet{Kind: KindPlain, Name: name, Text: text}).Append(nil); err == nil {
			s.broadcast(out, nil, nil)
		}
	}
	if answer && !s.Operator {
		s.plainAnswer(w, d, peer, plainAck)
	}
}

// plainAnswer answers d, from plain sender p, with "server : text", if
// its credit allows it.
func (s *Server) plainAnswer(w *dgram.Writer, d *dgram.Datagram, p *plainPeer, text string) {
	out := append(w.Buffer(), OperatorName+" : "...)
	out = append(out, text...)
	if _, ok := s.plainPeers.spend(p, len(out)); !ok {
		s.gate.Counters.Drop(admit.Amplification)
		return
	}
	if w.Reply(d, out) {
		s.stats.plainReplies.Add(1)
	}
}

// Say sends text as the operator's message, in the reserved name
// [OperatorName]: it writes "server : TEXT" to the Transcript, sends
// "relay server : TEXT" to every member, and "server : TEXT" to the last
// plain sender whose line was shown, if it has sent one within
// MemberTimeout (as the tutorial's server answers the last datagram it
// got). This is how an operator at the server's console answers the
// tutorial's blocking client; see [Server.Operator].
//
// text must be one line (no CR or LF); it is cleaned of control
// characters and escape sequences and of blanks at either end, and must
// then be 1 to [MaxText] bytes of UTF-8. The last plain sender is not
// sent a line that would make what it was sent more than three times
// what it sent: Say then returns a [*BudgetError], the members having
// got the line.
// Say is safe to call from any goroutine while the server is serving.
func (s *Server) Say(text string) error {
	s.init()
	multiline := strings.ContainsAny(text, "\r\n")
	text = strings.Trim(textsafe.Clean(text), " \t")
	if multiline || !validText(text) || !utf8.ValidString(text) {
		return fmt.Errorf("udpcolor: cannot say it: %w", bad(0, "text empty, too long or not one line"))
	}
	out, err := Packet{Kind: KindRelay, Name: OperatorName, Text: text}.Append(nil)
	if err != nil {
		return err
	}
	if s.render != nil {
		s.render.Message(OperatorName, text)
	}
	s.broadcast(out, nil, nil)
	p, to, c, name := s.plainPeers.lastPeer(s.now(), s.memberTimeout())
	if p == nil {
		return nil
	}
	line := []byte(OperatorName + " : " + text)
	if room, ok := s.plainPeers.spend(p, len(line)); !ok {
		s.gate.Counters.Drop(admit.Amplification)
		return &BudgetError{Name: name, Size: len(line), Room: room}
	}
	if err := c.write(line, to); err != nil {
		return err
	}
	s.stats.plainReplies.Add(1)
	return nil
}
