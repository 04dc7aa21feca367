package chat

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// startBoth runs s with Serve and ServeIRC on two loopback listeners and
// returns their addresses and a function that shuts s down and checks
// what both calls returned.
func startBoth(t *testing.T, s *Server) (plain, irc string, stop func()) {
	t.Helper()
	var ls [2]net.Listener
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
	}
	errc := make(chan error, 2)
	go func() { errc <- s.Serve(context.Background(), ls[0]) }()
	go func() { errc <- s.ServeIRC(context.Background(), ls[1]) }()
	return ls[0].Addr().String(), ls[1].Addr().String(), func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
	}
}

// dialIRC connects to addr as a client that speaks IRC.
func dialIRC(t *testing.T, addr string) *raw {
	t.Helper()
	r := dialRaw(t, addr)
	r.irc = true
	return r
}

// ircExpect reads lines and checks that they are want, in order.
func (r *raw) ircExpect(want ...string) {
	r.t.Helper()
	for _, w := range want {
		r.expect(w)
	}
}

// sync sends a PING and reads up to its PONG: everything the server
// sent this client before is then read.
func (r *raw) sync() []string {
	r.t.Helper()
	r.send("PING sync\r\n")
	return r.until(":sockkit PONG sockkit :sync")
}

// ircPieces reads lines that start with prefix until the rest of them
// makes n bytes, and returns that.
func (r *raw) ircPieces(prefix string, n int) string {
	r.t.Helper()
	var got strings.Builder
	for got.Len() < n {
		l := r.line()
		body, ok := strings.CutPrefix(l, prefix)
		if !ok {
			r.t.Fatalf("got %q, want a line starting %q", l, prefix)
		}
		got.WriteString(body)
	}
	return got.String()
}

// num is a numeric reply from the default server name.
func num(code, nick, rest string) string { return ":sockkit " + code + " " + nick + " " + rest }

// welcome is what nick gets on registering, up to its JOIN.
func welcome(nick string) []string {
	return []string{
		num("001", nick, ":Welcome to the sockkit IRC network, "+nick+"!"+nick+"@sockkit"),
		num("002", nick, ":Your host is sockkit, running sockkit chat"),
		num("003", nick, ":This server serves IRC and plain text lines in the same rooms"),
		num("004", nick, "sockkit sockkit i :nt"),
		num("005", nick, "CHANTYPES=# CHANLIMIT=#:1 NICKLEN=16 CHANNELLEN=25 CASEMAPPING=ascii UTF8ONLY "+
			"NETWORK=sockkit PREFIX= CHANMODES=,,,nt TARGMAX=PRIVMSG:1,NOTICE:1 SAFELIST :are supported by this server"),
		num("422", nick, ":MOTD File is missing"),
		":" + nick + "!" + nick + "@sockkit JOIN #lobby",
	}
}

// ircLogin connects to an IRC address, registers as nick and reads up to
// the end of the names of #lobby.
func ircLogin(t *testing.T, addr, nick string) *raw {
	t.Helper()
	r := dialIRC(t, addr)
	r.send("NICK " + nick + "\r\nUSER " + nick + " 0 * :Real " + nick + "\r\n")
	r.ircExpect(welcome(nick)...)
	r.until(num("366", nick, "#lobby :End of /NAMES list"))
	return r
}

func TestIRCRegistration(t *testing.T) {
	t.Parallel()
	plain, irc, stop := startBoth(t, &Server{})
	defer stop()
	bob := login(t, plain, "bob")

	t.Run("capability negotiation", func(t *testing.T) {
		r := dialIRC(t, irc)
		r.send("CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice A\r\n")
		r.ircExpect(":sockkit CAP * LS :")
		// No welcome before CAP END: the next line answers the REQ.
		r.send("CAP REQ :multi-prefix sasl\r\n")
		r.ircExpect(":sockkit CAP alice NAK :multi-prefix sasl")
		r.send("CAP LIST\r\nCAP END\r\n")
		r.ircExpect(":sockkit CAP alice LIST :")
		r.ircExpect(welcome("alice")...)
		r.ircExpect(num("353", "alice", "= #lobby :alice bob"), num("366", "alice", "#lobby :End of /NAMES list"))
		bob.expect("JOIN lobby alice")
		r.send("QUIT :done\r\n")
		r.ircExpect("ERROR :Closing link: goodbye")
		r.expectEOF()
		bob.expect("QUIT lobby alice done")
	})

	t.Run("USER before NICK", func(t *testing.T) {
		r := dialIRC(t, irc)
		r.send("USER x 0 * :X\r\nNICK carol\r\n")
		r.ircExpect(welcome("carol")...)
		bob.expect("JOIN lobby carol")
		r.c.Close()
		bob.expect("QUIT lobby carol connection closed")
	})

	t.Run("errors before registering", func(t *testing.T) {
		r := dialIRC(t, irc)
		for _, tt := range []struct{ send, want string }{
			{"JOIN #lobby", num("451", "*", ":You have not registered")},
			{"PRIVMSG bob :hi", num("451", "*", ":You have not registered")},
			{"PING early", ":sockkit PONG sockkit :early"},
			{"PING", num("409", "*", ":No origin specified")},
			{"NICK", num("431", "*", ":No nickname given")},
			{"NICK a[b]", num("432", "*", "a[b] :Erroneous nickname")},
			{"NICK -dash", num("432", "*", "-dash :Erroneous nickname")},
			{"NICK seventeen_letters", num("432", "*", "seventeen_letters :Erroneous nickname")},
			{"NICK BOB", num("433", "*", "BOB :Nickname is already in use")},
			{"USER x 0 *", num("461", "*", "USER :Not enough parameters")},
			{"PASS", num("461", "*", "PASS :Not enough parameters")},
			{"CAP", num("461", "*", "CAP :Not enough parameters")},
			{"CAP FROB", num("410", "*", "FROB :Invalid CAP command")},
			{"NICK dave", ""}, // taken, so dave's own now
			{"NICK dave", ""},
			{"NICK bob", num("433", "dave", "bob :Nickname is already in use")},
			{"WHO", num("451", "dave", ":You have not registered")},
		} {
			r.send(tt.send + "\r\n")
			if tt.want != "" {
				r.ircExpect(tt.want)
			}
		}
		// Before registering, dave is nobody to the others.
		bob.send("/msg dave hi\n")
		bob.expect("ERR no-such-nick nobody is called dave")
		bob.send("/who\n")
		bob.expect("WHO lobby bob")
		r.send("USER d 0 * :D\r\n")
		r.ircExpect(welcome("dave")...)
		r.ircExpect(num("353", "dave", "= #lobby :bob dave"), num("366", "dave", "#lobby :End of /NAMES list"))
		bob.expect("JOIN lobby dave")
		for _, tt := range []struct{ send, want string }{
			{"USER d 0 * :D", num("462", "dave", ":You may not reregister")},
			{"PASS x", num("462", "dave", ":You may not reregister")},
			{"CAP LS", ":sockkit CAP dave LS :"},
			{"CAP END", ""},
		} {
			r.send(tt.send + "\r\n")
			if tt.want != "" {
				r.ircExpect(tt.want)
			}
		}
		if got := r.sync(); len(got) > 0 {
			t.Errorf("CAP END after registering answered %q", got)
		}
		r.send("QUIT\r\n")
		r.ircExpect("ERROR :Closing link: goodbye")
		bob.expect("QUIT lobby dave")
	})

	t.Run("QUIT before registering", func(t *testing.T) {
		r := dialIRC(t, irc)
		r.send("NICK erin\r\nQUIT :changed my mind\r\n")
		r.ircExpect("ERROR :Closing link: goodbye")
		r.expectEOF()
		bob.send("/msg bob sync\n")
		bob.expect("PRIV bob bob sync") // and no QUIT for erin before it
	})
}

func TestIRCPassword(t *testing.T) {
	t.Parallel()
	_, irc, stop := startBoth(t, &Server{IRC: IRCOptions{Password: "s3cret"}})
	defer stop()
	for _, tt := range []struct {
		name, send string
		ok         bool
	}{
		{"right", "PASS s3cret\r\n", true},
		{"right, as a trailing parameter", "PASS :s3cret\r\n", true},
		{"wrong", "PASS guess\r\n", false},
		{"a prefix of it", "PASS s3c\r\n", false},
		{"none", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dialIRC(t, irc)
			r.send(tt.send + "NICK pat\r\nUSER pat 0 * :Pat\r\n")
			if tt.ok {
				r.ircExpect(welcome("pat")...)
				r.send("QUIT\r\n")
				r.until("ERROR :Closing link: goodbye")
			} else {
				r.ircExpect(num("464", "pat", ":Password incorrect"), "ERROR :Closing link: password incorrect")
			}
			r.expectEOF()
		})
	}
}

func TestIRCOptions(t *testing.T) {
	t.Parallel()
	_, irc, stop := startBoth(t, &Server{DefaultRoom: "Main", IRC: IRCOptions{
		Name: "irc.example", MOTD: []string{"first line", "second\nthird \x1b[31mred"},
	}})
	defer stop()
	r := dialIRC(t, irc)
	r.send("NICK al\r\nUSER al 0 * :Al\r\n")
	n := func(code, rest string) string { return ":irc.example " + code + " al " + rest }
	r.ircExpect(n("001", ":Welcome to the irc.example IRC network, al!al@irc.example"))
	r.until(n("005", "CHANTYPES=# CHANLIMIT=#:1 NICKLEN=16 CHANNELLEN=25 CASEMAPPING=ascii UTF8ONLY "+
		"NETWORK=irc.example PREFIX= CHANMODES=,,,nt TARGMAX=PRIVMSG:1,NOTICE:1 SAFELIST :are supported by this server"))
	motd := []string{
		n("375", ":- irc.example Message of the day - "),
		n("372", ":- first line"), n("372", ":- second"), n("372", ":- third red"),
		n("376", ":End of /MOTD command"),
	}
	r.ircExpect(motd...)
	r.ircExpect(":al!al@irc.example JOIN #main", n("353", "= #main :al"), n("366", "#main :End of /NAMES list"))
	r.send("MOTD\r\n")
	r.ircExpect(motd...)

	for _, tt := range []struct {
		name string
		o    IRCOptions
	}{
		{"name with a space", IRCOptions{Name: "my server"}},
		{"name too long", IRCOptions{Name: strings.Repeat("a", 64)}},
		{"name with a colon", IRCOptions{Name: ":x"}},
		{"negative RegisterTimeout", IRCOptions{RegisterTimeout: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			err = (&Server{IRC: tt.o}).ServeIRC(context.Background(), l)
			if err == nil || errors.Is(err, ErrServerClosed) || !strings.Contains(err.Error(), "IRC.") {
				t.Errorf("ServeIRC with %+v: %v", tt.o, err)
			}
		})
	}
}

func TestIRCCommands(t *testing.T) {
	t.Parallel()
	plain, irc, stop := startBoth(t, &Server{LineRate: -1})
	defer stop()
	carol := login(t, plain, "carol")
	alice := ircLogin(t, irc, "alice")
	carol.expect("JOIN lobby alice")
	bob := ircLogin(t, irc, "bob")
	carol.expect("JOIN lobby bob")
	alice.ircExpect(":bob!bob@sockkit JOIN #lobby")

	// Each step: what alice sends, and what she gets back, in order.
	steps := []struct {
		name string
		send string
		want []string
	}{
		{"NAMES", "NAMES", []string{num("353", "alice", "= #lobby :alice bob carol"), num("366", "alice", "#lobby :End of /NAMES list")}},
		{"NAMES of a list", "NAMES #lobby,#none,bad", []string{
			num("353", "alice", "= #lobby :alice bob carol"), num("366", "alice", "#lobby :End of /NAMES list"),
			num("366", "alice", "#none :End of /NAMES list"), num("366", "alice", "bad :End of /NAMES list")}},
		{"WHO channel", "WHO #lobby", []string{
			num("352", "alice", "#lobby alice sockkit sockkit alice H :0 Real alice"),
			num("352", "alice", "#lobby bob sockkit sockkit bob H :0 Real bob"),
			num("352", "alice", "#lobby carol sockkit sockkit carol H :0 carol"),
			num("315", "alice", "#lobby :End of /WHO list")}},
		{"WHO nick", "WHO Carol", []string{
			num("352", "alice", "* carol sockkit sockkit carol H :0 carol"), num("315", "alice", "Carol :End of /WHO list")}},
		{"WHO nobody", "WHO zed", []string{num("315", "alice", "zed :End of /WHO list")}},
		{"WHOIS", "WHOIS bob", []string{
			num("311", "alice", "bob bob sockkit * :Real bob"), num("312", "alice", "bob sockkit :sockkit chat"),
			num("318", "alice", "bob :End of /WHOIS list")}},
		{"WHOIS nobody", "WHOIS zed", []string{num("401", "alice", "zed :No such nick/channel"), num("318", "alice", "zed :End of /WHOIS list")}},
		{"WHOIS nothing", "WHOIS", []string{num("431", "alice", ":No nickname given")}},
		{"ISON", "ISON carol zed :BOB", []string{num("303", "alice", ":carol bob")}},
		{"ISON nothing", "ISON", []string{num("461", "alice", "ISON :Not enough parameters")}},
		{"LIST", "LIST", []string{num("322", "alice", "#lobby 3 :"), num("323", "alice", ":End of /LIST")}},
		{"LIST some", "LIST #none,#lobby", []string{num("322", "alice", "#lobby 3 :"), num("323", "alice", ":End of /LIST")}},
		{"TOPIC", "TOPIC #lobby", []string{num("331", "alice", "#lobby :No topic is set")}},
		{"TOPIC set", "TOPIC #lobby :new", []string{num("482", "alice", "#lobby :You're not channel operator")}},
		{"TOPIC nowhere", "TOPIC #none", []string{num("403", "alice", "#none :No such channel")}},
		{"TOPIC nothing", "TOPIC", []string{num("461", "alice", "TOPIC :Not enough parameters")}},
		{"MODE channel", "MODE #lobby", []string{num("324", "alice", "#lobby :+nt")}},
		{"MODE bans", "MODE #lobby b", []string{num("368", "alice", "#lobby :End of channel ban list")}},
		{"MODE set", "MODE #lobby +m", []string{num("482", "alice", "#lobby :You're not channel operator")}},
		{"MODE ban someone", "MODE #lobby +b bob", []string{num("482", "alice", "#lobby :You're not channel operator")}},
		{"MODE no channel", "MODE #none", []string{num("403", "alice", "#none :No such channel")}},
		{"MODE user", "MODE alice", []string{num("221", "alice", ":+")}},
		{"MODE +i", "MODE alice +i", []string{":alice!alice@sockkit MODE alice :+i"}},
		{"MODE +i again", "MODE alice +i", nil},
		{"MODE user +i", "MODE alice", []string{num("221", "alice", ":+i")}},
		{"MODE -i+x", "MODE alice -i+x", []string{":alice!alice@sockkit MODE alice :-i", num("501", "alice", ":Unknown MODE flag")}},
		{"MODE other user", "MODE bob +i", []string{num("502", "alice", ":Cannot change mode for other users")}},
		{"MODE nothing", "MODE", []string{num("461", "alice", "MODE :Not enough parameters")}},
		{"unknown", "FROBNICATE x", []string{num("421", "alice", "FROBNICATE :Unknown command")}},
		{"malformed command", "FROB-NICATE", []string{num("421", "alice", "FROB-NICATE :Unknown command")}},
		{"empty line", "", nil},
		{"PRIVMSG nothing", "PRIVMSG", []string{num("411", "alice", ":No recipient given (PRIVMSG)")}},
		{"PRIVMSG no text", "PRIVMSG #lobby", []string{num("412", "alice", ":No text to send")}},
		{"PRIVMSG empty text", "PRIVMSG #lobby :", []string{num("412", "alice", ":No text to send")}},
		{"PRIVMSG only formatting", "PRIVMSG #lobby :\x02\x0304\x1b[1m ", []string{num("412", "alice", ":No text to send")}},
		{"PRIVMSG empty action", "PRIVMSG #lobby :\x01ACTION\x01", []string{num("412", "alice", ":No text to send")}},
		{"PRIVMSG nobody", "PRIVMSG zed :hi", []string{num("401", "alice", "zed :No such nick/channel")}},
		{"PRIVMSG no channel", "PRIVMSG #none :hi", []string{num("403", "alice", "#none :No such channel")}},
		{"PRIVMSG bad channel", "PRIVMSG #a.b :hi", []string{num("403", "alice", "#a.b :No such channel")}},
		{"PRIVMSG two targets", "PRIVMSG bob,carol :hi", []string{num("407", "alice", "bob,carol :Too many recipients")}},
		{"NOTICE errors are silent", "NOTICE zed :hi", nil},
		{"NOTICE no text", "NOTICE #lobby", nil},
		{"CTCP VERSION", "PRIVMSG bob :\x01VERSION\x01", []string{":sockkit NOTICE alice :\x01VERSION sockkit chat (CTCP is answered by the server)\x01"}},
		{"CTCP PING", "PRIVMSG #lobby :\x01PING 12345\x01", []string{":sockkit NOTICE alice :\x01PING 12345\x01"}},
		{"CTCP CLIENTINFO", "PRIVMSG carol :\x01CLIENTINFO\x01", []string{":sockkit NOTICE alice :\x01CLIENTINFO ACTION CLIENTINFO PING VERSION\x01"}},
		{"CTCP other", "PRIVMSG bob :\x01DCC SEND x\x01", nil},
		{"CTCP nobody", "PRIVMSG zed :\x01VERSION\x01", []string{num("401", "alice", "zed :No such nick/channel")}},
		{"CTCP elsewhere", "PRIVMSG #none :\x01VERSION\x01", []string{num("404", "alice", "#none :Cannot send to channel")}},
		{"CTCP reply dropped", "NOTICE bob :\x01VERSION irssi\x01", nil},
		{"AWAY", "AWAY :lunch", []string{num("306", "alice", ":You have been marked as being away")}},
		{"WHO away", "WHO alice", []string{num("352", "alice", "* alice sockkit sockkit alice G :0 Real alice"), num("315", "alice", "alice :End of /WHO list")}},
		{"back", "AWAY", []string{num("305", "alice", ":You are no longer marked as being away")}},
		{"JOIN nothing", "JOIN", []string{num("461", "alice", "JOIN :Not enough parameters")}},
		{"JOIN bad", "JOIN lobby", []string{num("403", "alice", "lobby :No such channel")}},
		{"JOIN same", "JOIN #LOBBY", nil},
		{"PART nothing", "PART", []string{num("461", "alice", "PART :Not enough parameters")}},
		{"PART bad", "PART #a.b", []string{num("403", "alice", "#a.b :No such channel")}},
		{"PART not there", "PART #none", []string{num("403", "alice", "#none :No such channel")}},
		{"NICK same", "NICK alice", nil},
		{"NICK taken", "NICK Carol", []string{num("433", "alice", "Carol :Nickname is already in use")}},
		{"NICK bad", "NICK al|ce", []string{num("432", "alice", "al|ce :Erroneous nickname")}},
		{"NICK nothing", "NICK", []string{num("431", "alice", ":No nickname given")}},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			alice.send(tt.send + "\r\n")
			if d := cmp.Diff(tt.want, alice.sync()); d != "" {
				t.Errorf("%q: lines (-want +got):\n%s", tt.send, d)
			}
		})
	}

	t.Run("away reply", func(t *testing.T) {
		bob.send("AWAY :gone fishing\r\n")
		bob.ircExpect(num("306", "bob", ":You have been marked as being away"))
		alice.send("PRIVMSG bob :there?\r\n")
		alice.ircExpect(num("301", "alice", "bob :gone fishing"))
		bob.ircExpect(":alice!alice@sockkit PRIVMSG bob :there?")
		alice.send("NOTICE bob :no reply to a notice\r\n")
		bob.ircExpect(":alice!alice@sockkit PRIVMSG bob :no reply to a notice")
		if got := alice.sync(); len(got) > 0 {
			t.Errorf("a NOTICE to someone away got %q", got)
		}
		bob.send("WHOIS alice bob\r\n")
		bob.ircExpect(num("311", "bob", "bob bob sockkit * :Real bob"), num("312", "bob", "bob sockkit :sockkit chat"),
			num("301", "bob", "bob :gone fishing"), num("318", "bob", "bob :End of /WHOIS list"))
	})

	t.Run("JOIN moves, PART leaves", func(t *testing.T) {
		alice.send("JOIN #Go\r\n")
		alice.ircExpect(":alice!alice@sockkit PART #lobby", ":alice!alice@sockkit JOIN #go",
			num("353", "alice", "= #go :alice"), num("366", "alice", "#go :End of /NAMES list"))
		carol.expect("PART lobby alice")
		bob.ircExpect(":alice!alice@sockkit PART #lobby")
		alice.send("PRIVMSG #lobby :from outside\r\n")
		alice.ircExpect(num("404", "alice", "#lobby :Cannot send to channel"))
		alice.send("PART #lobby\r\n")
		alice.ircExpect(num("442", "alice", "#lobby :You're not on that channel"))
		alice.send("TOPIC #lobby :x\r\n")
		alice.ircExpect(num("442", "alice", "#lobby :You're not on that channel"))
		alice.send("LIST\r\n")
		alice.ircExpect(num("322", "alice", "#go 1 :"), num("322", "alice", "#lobby 2 :"), num("323", "alice", ":End of /LIST"))

		// A list: one channel at a time, the last one wins.
		alice.send("JOIN #one,bad,#two,#lobby\r\n")
		alice.ircExpect(num("403", "alice", "bad :No such channel"),
			num("405", "alice", "#one :You may be in one channel at a time"),
			num("405", "alice", "#two :You may be in one channel at a time"),
			":alice!alice@sockkit PART #go", ":alice!alice@sockkit JOIN #lobby",
			num("353", "alice", "= #lobby :alice bob carol"), num("366", "alice", "#lobby :End of /NAMES list"))
		carol.expect("JOIN lobby alice")
		bob.ircExpect(":alice!alice@sockkit JOIN #lobby")

		// PART: in no room. Messages to the room fail, NICK is hers alone.
		alice.send("PART #lobby :bye\r\n")
		alice.ircExpect(":alice!alice@sockkit PART #lobby")
		carol.expect("PART lobby alice")
		bob.ircExpect(":alice!alice@sockkit PART #lobby")
		alice.send("PRIVMSG #lobby :hello?\r\nNAMES\r\nWHO\r\nNICK alicia\r\n")
		alice.ircExpect(num("404", "alice", "#lobby :Cannot send to channel"),
			num("366", "alice", "* :End of /NAMES list"), num("315", "alice", "* :End of /WHO list"),
			":alice!alice@sockkit NICK alicia")
		// Private messages still work both ways.
		carol.send("/msg alicia still here?\n")
		carol.expect("PRIV carol alicia still here?")
		alice.ircExpect(":carol!carol@sockkit PRIVMSG alicia :still here?")
		alice.send("JOIN #lobby\r\n")
		alice.ircExpect(":alicia!alicia@sockkit JOIN #lobby")
		alice.until(num("366", "alicia", "#lobby :End of /NAMES list"))
		carol.expect("JOIN lobby alicia")
		alice.send("JOIN 0\r\n")
		alice.ircExpect(":alicia!alicia@sockkit PART #lobby")
		carol.expect("PART lobby alicia")
		bob.until(":alicia!alicia@sockkit PART #lobby")
	})
}

func TestIRCCrossDialect(t *testing.T) {
	t.Parallel()
	plain, irc, stop := startBoth(t, &Server{})
	defer stop()
	ctx := context.Background()

	bob := login(t, plain, "bob")      // nc, by hand
	alice := ircLogin(t, irc, "alice") // IRC on the IRC port
	bob.expect("JOIN lobby alice")
	carol, err := Dial(ctx, plain, "carol") // the Go client
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Close()
	events := carol.Events()
	next := func(want Event) {
		t.Helper()
		for e := range events {
			if e.Kind == KindWelcome {
				continue
			}
			if e != want {
				t.Fatalf("carol got %+v, want %+v", e, want)
			}
			return
		}
		t.Fatalf("carol's session ended: %v", carol.Err())
	}
	next(Event{Kind: KindJoin, Room: "lobby", Nick: "carol"})
	bob.expect("JOIN lobby carol")
	alice.ircExpect(":carol!carol@sockkit JOIN #lobby")

	// dave is IRC on the plain port: the first line tells.
	d := dialRaw(t, plain)
	if l := d.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("first line %q", l)
	}
	d.irc = true
	d.send("CAP LS 302\r\nNICK dave\r\nUSER dave 0 * :Dave\r\nCAP END\r\n")
	d.ircExpect(":sockkit CAP * LS :")
	d.ircExpect(welcome("dave")...)
	d.ircExpect(num("353", "dave", "= #lobby :alice bob carol dave"), num("366", "dave", "#lobby :End of /NAMES list"))
	bob.expect("JOIN lobby dave")
	alice.ircExpect(":dave!dave@sockkit JOIN #lobby")
	next(Event{Kind: KindJoin, Room: "lobby", Nick: "dave"})

	// nc to everyone.
	bob.send("hello all\n/me waves\n")
	bob.expect("MSG lobby bob hello all")
	bob.expect("ME lobby bob waves")
	for _, r := range []*raw{alice, d} {
		r.ircExpect(":bob!bob@sockkit PRIVMSG #lobby :hello all", ":bob!bob@sockkit PRIVMSG #lobby :\x01ACTION waves\x01")
	}
	next(Event{Kind: KindMessage, Room: "lobby", Nick: "bob", Text: "hello all"})
	next(Event{Kind: KindAction, Room: "lobby", Nick: "bob", Text: "waves"})

	// IRC to everyone; alice gets no copy of her own.
	alice.send("PRIVMSG #lobby :hi \x02bold\x02 \x0304red\x03\r\nPRIVMSG #LOBBY :\x01ACTION dances\x01\r\n")
	bob.expect("MSG lobby alice hi bold red")
	bob.expect("ME lobby alice dances")
	next(Event{Kind: KindMessage, Room: "lobby", Nick: "alice", Text: "hi bold red"})
	next(Event{Kind: KindAction, Room: "lobby", Nick: "alice", Text: "dances"})
	d.ircExpect(":alice!alice@sockkit PRIVMSG #lobby :hi bold red", ":alice!alice@sockkit PRIVMSG #lobby :\x01ACTION dances\x01")
	if got := alice.sync(); len(got) > 0 {
		t.Errorf("alice got back %q", got)
	}
	// A NOTICE to the room is a message for everyone.
	alice.send("NOTICE #lobby :note\r\n")
	bob.expect("MSG lobby alice note")
	next(Event{Kind: KindMessage, Room: "lobby", Nick: "alice", Text: "note"})
	d.ircExpect(":alice!alice@sockkit PRIVMSG #lobby :note")

	// Private messages, both ways, between every pair of dialects.
	bob.send("/msg alice psst\n")
	bob.expect("PRIV bob alice psst")
	alice.ircExpect(":bob!bob@sockkit PRIVMSG alice :psst")
	alice.send("PRIVMSG Bob :back at you\r\n")
	bob.expect("PRIV alice bob back at you")
	alice.send("PRIVMSG carol :\x01ACTION winks\x01\r\n")
	next(Event{Kind: KindPrivate, Nick: "alice", Target: "carol", Text: "* alice winks"})
	if err := carol.Command(ctx, "msg", "dave", "from", "go"); err != nil {
		t.Fatal(err)
	}
	next(Event{Kind: KindPrivate, Nick: "carol", Target: "dave", Text: "from go"})
	d.ircExpect(":carol!carol@sockkit PRIVMSG dave :from go")
	alice.send("PRIVMSG dave :irc to irc\r\n")
	d.ircExpect(":alice!alice@sockkit PRIVMSG dave :irc to irc")
	alice.send("PRIVMSG alice :to myself\r\n")
	alice.ircExpect(":alice!alice@sockkit PRIVMSG alice :to myself")

	// A long message from nc reaches IRC in pieces of at most 512 bytes.
	long := strings.Repeat("long words ", 90) // 990 bytes
	bob.send(long + "\n")
	bob.expect("MSG lobby bob " + long)
	next(Event{Kind: KindMessage, Room: "lobby", Nick: "bob", Text: long})
	for _, r := range []*raw{alice, d} {
		if got := r.ircPieces(":bob!bob@sockkit PRIVMSG #lobby :", len(long)); got != long {
			t.Errorf("the pieces make %q", got)
		}
	}

	// Nickname changes, both ways.
	bob.send("/nick robert\n")
	bob.expect("NICK lobby bob robert")
	alice.ircExpect(":bob!bob@sockkit NICK robert")
	d.ircExpect(":bob!bob@sockkit NICK robert")
	next(Event{Kind: KindNick, Room: "lobby", Nick: "bob", Target: "robert"})
	alice.send("NICK Alicia\r\n")
	alice.ircExpect(":alice!alice@sockkit NICK Alicia")
	bob.expect("NICK lobby alice Alicia")
	d.ircExpect(":alice!alice@sockkit NICK Alicia")
	next(Event{Kind: KindNick, Room: "lobby", Nick: "alice", Target: "Alicia"})

	// Rooms, both ways: an IRC JOIN is a move for nc users, and back.
	alice.send("JOIN #go\r\n")
	alice.until(num("366", "Alicia", "#go :End of /NAMES list"))
	bob.expect("PART lobby Alicia")
	next(Event{Kind: KindPart, Room: "lobby", Nick: "Alicia"})
	d.ircExpect(":Alicia!Alicia@sockkit PART #lobby")
	bob.send("/join go\n")
	bob.expect("PART lobby robert")
	bob.expect("JOIN go robert")
	alice.ircExpect(":robert!robert@sockkit JOIN #go")
	d.ircExpect(":robert!robert@sockkit PART #lobby")
	next(Event{Kind: KindPart, Room: "lobby", Nick: "robert"})
	bob.send("/rooms\n")
	bob.expect("ROOMS go=2 lobby=2")

	// Leaving, both ways.
	alice.send("QUIT :see you\r\n")
	alice.ircExpect("ERROR :Closing link: goodbye")
	alice.expectEOF()
	bob.expect("QUIT go Alicia see you")
	bob.send("/join lobby\n/quit\n")
	bob.until("BYE quit goodbye")
	d.ircExpect(":robert!robert@sockkit JOIN #lobby", ":robert!robert@sockkit QUIT :Quit")
	next(Event{Kind: KindJoin, Room: "lobby", Nick: "robert"})
	next(Event{Kind: KindQuit, Room: "lobby", Nick: "robert"})
	d.c.Close()
	next(Event{Kind: KindQuit, Room: "lobby", Nick: "dave", Text: "connection closed"})
}

func TestIRCBadInput(t *testing.T) {
	t.Parallel()
	plain, irc, stop := startBoth(t, &Server{})
	defer stop()
	bob := login(t, plain, "bob")
	alice := ircLogin(t, irc, "alice")
	bob.expect("JOIN lobby alice")

	// Over IRC's 512 bytes: 417, and the session goes on. Exactly 512
	// with the CRLF is fine.
	alice.send("PRIVMSG #lobby :" + strings.Repeat("x", 600) + "\r\n")
	alice.ircExpect(num("417", "alice", ":Input line was too long"))
	alice.send("PRIVMSG #lobby :" + strings.Repeat("y", 3000))
	alice.send(strings.Repeat("y", 3000) + "\r\nPRIVMSG #lobby :after\r\n")
	alice.ircExpect(num("417", "alice", ":Input line was too long"))
	bob.expect("MSG lobby alice after")
	full := "PRIVMSG #lobby :" + strings.Repeat("z", ircMaxText-len("PRIVMSG #lobby :"))
	alice.send(full + "\r\n")
	bob.expect("MSG lobby alice " + strings.Repeat("z", ircMaxText-len("PRIVMSG #lobby :")))
	alice.send("NICK " + strings.Repeat("n", 600) + "\r\n")
	alice.ircExpect(num("417", "alice", ":Input line was too long"))

	// Invalid UTF-8 is refused; control characters and formatting go.
	alice.send("PRIVMSG #lobby :caf\xe9\r\n\xff\xfe\r\n")
	alice.ircExpect(":sockkit FAIL PRIVMSG INVALID_UTF8 :Message rejected: this server takes UTF-8 only",
		":sockkit FAIL * INVALID_UTF8 :Message rejected: this server takes UTF-8 only")
	for _, tt := range []struct{ send, want string }{
		{"\x1b[31mred\x1b[0m text", "red text"},
		{"\x1b]0;pwned\x07title", "title"},
		{"bell\x07 nul\x00 cr\r", "bell nul cr"},
		{"trojan \u202eevil\u202c source", "trojan evil source"},
		{"\x0312,4colour\x0f and \x1funderline\x1f", "colour and underline"},
		{"\x01ACTION \x02shouts\x02", ""},
	} {
		alice.send("PRIVMSG #lobby :" + tt.send + "\r\n")
		if tt.want == "" {
			bob.expect("ME lobby alice shouts")
		} else {
			bob.expect("MSG lobby alice " + tt.want)
		}
	}
	// A nickname with controls is refused, and echoed back clean.
	alice.send("NICK a\x1b[2Jb\r\n")
	alice.ircExpect(num("432", "alice", "ab :Erroneous nickname"))
	alice.send("AWAY :\x1b]0;x\x07\r\nWHO alice\r\n")
	alice.ircExpect(num("305", "alice", ":You are no longer marked as being away"),
		num("352", "alice", "* alice sockkit sockkit alice H :0 Real alice"), num("315", "alice", "alice :End of /WHO list"))

	// Gone in the middle of a line: the half line is never delivered.
	alice.send("PRIVMSG #lobby :half a li")
	alice.c.Close()
	bob.expect("QUIT lobby alice connection lost")
	// And before registering.
	r := dialIRC(t, irc)
	r.send("NICK half\r\nUSER h 0 *")
	r.c.Close()
	bob.send("/who\n")
	bob.expect("WHO lobby bob")
}

func TestIRCTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("registration", func(t *testing.T) {
		_, irc, stop := startBoth(t, &Server{IRC: IRCOptions{RegisterTimeout: 300 * time.Millisecond}})
		defer stop()
		for _, tt := range []struct{ name, send, first string }{
			{"silent", "", ""},
			{"NICK only", "NICK slow\r\n", ""},
			{"no CAP END", "CAP LS 302\r\nNICK slow\r\nUSER s 0 * :S\r\n", ":sockkit CAP * LS :"},
			{"chatty but never done", "NICK slow\r\nPING a\r\nPING b\r\n", ":sockkit PONG sockkit :a"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := dialIRC(t, irc)
				r.send(tt.send)
				if tt.first != "" {
					r.ircExpect(tt.first)
				}
				r.until("ERROR :Closing link: registration timed out")
				r.expectEOF()
			})
		}
	})
	t.Run("ping", func(t *testing.T) {
		plain, irc, stop := startBoth(t, &Server{IRC: IRCOptions{PingInterval: 400 * time.Millisecond}})
		defer stop()
		bob := login(t, plain, "bob")
		alice := ircLogin(t, irc, "alice")
		carol := ircLogin(t, irc, "carol")
		// carol answers, so she stays: she sees alice go, and gets at
		// least one PING more than would have been her end unanswered.
		pings, quit := 0, false
		for pings < 2 || !quit {
			switch l := carol.line(); l {
			case "PING :sockkit":
				pings++
				carol.send("PONG :sockkit\r\n")
			case ":alice!alice@sockkit QUIT :ping timeout":
				quit = true
			}
		}
		// alice did not answer, so she went.
		alice.until("PING :sockkit")
		alice.ircExpect("ERROR :Closing link: ping timeout")
		alice.expectEOF()
		bob.until("QUIT lobby alice ping timeout")
		carol.send("QUIT\r\n")
		carol.until("ERROR :Closing link: goodbye")
	})
}

func TestIRCFloodControl(t *testing.T) {
	t.Parallel()
	// A burst of 4 lines, then one line per 1000 s: NICK, USER and two
	// messages go through, the third waits.
	plain, irc, stop := startBoth(t, &Server{LineRate: 0.001, LineBurst: 4})
	bob := login(t, plain, "bob")
	alice := dialIRC(t, irc)
	alice.send("NICK alice\r\nUSER a 0 * :A\r\nPRIVMSG #lobby :one\r\nPRIVMSG #lobby :two\r\nPRIVMSG #lobby :three\r\n")
	bob.expect("JOIN lobby alice")
	bob.expect("MSG lobby alice one")
	bob.expect("MSG lobby alice two")
	stop() // the third is still waiting
	for _, l := range bob.until("BYE shutdown server shutting down") {
		if strings.Contains(l, "three") {
			t.Errorf("the flood got through: %q", l)
		}
	}
	alice.until("ERROR :Closing link: server shutting down")
	alice.expectEOF()
}

func TestIRCLimitsAndShutdown(t *testing.T) {
	t.Parallel()
	srv := &Server{MaxConns: 2}
	_, irc, stop := startBoth(t, srv)
	alice := ircLogin(t, irc, "alice")
	idle := dialIRC(t, irc)
	idle.send("NICK idle\r\n")
	alice.sync()
	full := dialIRC(t, irc)
	full.ircExpect("ERROR :Closing link: too many connections, try again later")
	full.expectEOF()
	stop()
	for _, r := range []*raw{alice, idle} {
		r.ircExpect("ERROR :Closing link: server shutting down")
		r.expectEOF()
	}
	if n := int(srv.Stats().Conns); n != 0 {
		t.Errorf("%d connections left after Shutdown", n)
	}
}

// FuzzIRCSession sends arbitrary lines from a registered IRC client to a
// live server, next to a plain client that watches: every line the IRC
// client gets must be a well-formed IRC line of at most 512 bytes with
// no control character but CTCP's 0x01, and the server must close the
// connection after the QUIT that follows the input.
func FuzzIRCSession(f *testing.F) {
	for _, s := range []string{
		"PRIVMSG #lobby :hi", "PRIVMSG watcher :\x01ACTION waves\x01\r\nNOTICE #lobby :n",
		"JOIN #a,#b,c\r\nPART #b\r\nNAMES\r\nWHO #a\r\nLIST\r\nTOPIC #a :t", "NICK watcher\r\nNICK a[b]\r\nNICK x",
		"MODE fz +i-x\r\nMODE #lobby b\r\nAWAY :away\r\nWHOIS watcher\r\nISON watcher fz", "CAP LS 302\r\nCAP REQ :sasl\r\nCAP END",
		"PRIVMSG #lobby :" + strings.Repeat("y", 600), "PRIVMSG #lobby :caf\xe9", "\x00\r\n:\r\n@\r\n  \r\n",
		"PRIVMSG #lobby :\x1b[2J\x0304red\x02", "USER a b c d\r\nPASS x\r\nPING\r\nPONG x", "PRIVMSG fz :\x01VERSION\x01",
		"privmsg #lobby :half",
	} {
		f.Add(s)
	}
	srv := &Server{LineRate: -1}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.ServeIRC(context.Background(), l)
	f.Cleanup(func() { srv.Close() })
	addr := l.Addr().String()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(context.Background(), pl)
	watcher, err := Dial(context.Background(), pl.Addr().String(), "watcher")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { watcher.Close() })
	go func() {
		for range watcher.Events() {
		}
	}()

	f.Fuzz(func(t *testing.T, in string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(hang))
		go io.WriteString(c, "NICK fz\r\nUSER f 0 * :F\r\n"+in+"\r\nQUIT\r\n")
		all, err := io.ReadAll(c)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("reading: %v", err)
		}
		c.(*net.TCPConn).SetLinger(0)
		lines := strings.SplitAfter(string(all), "\r\n")
		if last := lines[len(lines)-1]; last != "" {
			t.Fatalf("unterminated line %q", last)
		}
		for _, l := range lines[:len(lines)-1] {
			if len(l) > ircMaxLine {
				t.Fatalf("line of %d bytes: %q", len(l), l)
			}
			body := strings.TrimSuffix(l, "\r\n")
			if _, err := parseIRC(body); err != nil {
				t.Fatalf("server sent %q: %v", l, err)
			}
			if bad := textsafe.Check(strings.ReplaceAll(body, "\x01", "")); bad != nil {
				t.Fatalf("server sent %q: %v", l, bad)
			}
		}
		if !strings.HasPrefix(lines[len(lines)-2], "ERROR :Closing link: ") {
			t.Fatalf("last line %q, want ERROR", lines[len(lines)-2])
		}
	})
}

// BenchmarkIRCTranslate measures what an IRC member costs a room beyond
// a plain one: turning each published line into IRC as it is queued.
func BenchmarkIRCTranslate(b *testing.B) {
	st := &ircState{cfg: ircConfig{name: DefaultIRCName}}
	st.registered.Store(true)
	line := []byte("MSG lobby alice hello everyone, how are you all doing today?\n")
	b.ReportAllocs()
	for b.Loop() {
		if len(st.translate(line, "bob")) == 0 {
			b.Fatal("nothing")
		}
	}
}
