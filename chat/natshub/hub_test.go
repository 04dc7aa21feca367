package natshub

import (
	"context"
	"testing"

	"github.com/sockkit/sockkit/chat"
)

// TestSharedRooms: users of two servers share the lobby, the nicknames,
// /who, /rooms and /msg.
func TestSharedRooms(t *testing.T) {
	noLeaks(t)
	ns := startEmbedded(t)
	a := startNode(t, ns.URL(), testOptions())
	b := startNode(t, ns.URL(), testOptions())

	ann := dial(t, a.addr, "ann")
	bob := dial(t, b.addr, "Bob")
	ann.until("JOIN lobby Bob")

	ann.send("hi bob")
	ann.until("MSG lobby ann hi bob")
	bob.until("MSG lobby ann hi bob")

	bob.eventually("/who", "WHO ", "WHO lobby Bob ann")
	ann.eventually("/who", "WHO ", "WHO lobby Bob ann")
	ann.eventually("/rooms", "ROOMS", "ROOMS lobby=2")

	// One namespace: a nickname of one server, in any case, is taken on
	// the other.
	carl := connect(t, b.addr)
	carl.send("ANN")
	carl.untilPrefix("ERR nick-taken ")
	carl.send("carl")
	carl.until("JOIN lobby carl")

	// Private messages cross servers, with the sender's copy.
	bob.send("/msg ANN psst")
	bob.until("PRIV Bob ann psst")
	ann.until("PRIV Bob ann psst")
	bob.send("/msg nobody hello")
	bob.untilPrefix("ERR no-such-nick ")

	// Rooms are shared by name; a member sees its own PART.
	ann.send("/join Go")
	ann.until("PART lobby ann")
	ann.until("JOIN go ann")
	bob.until("PART lobby ann")
	bob.send("/join go")
	ann.until("JOIN go Bob")
	bob.eventually("/rooms", "ROOMS", "ROOMS go=2 lobby=1")

	// A Go client on each server.
	ctx := context.Background()
	dee, err := chat.Dial(ctx, a.addr, "dee")
	if err != nil {
		t.Fatal(err)
	}
	defer dee.Close()
	eve, err := chat.Dial(ctx, b.addr, "eve")
	if err != nil {
		t.Fatal(err)
	}
	defer eve.Close()
	carl.until("JOIN lobby eve")
	if err := dee.Say(ctx, "hello from a"); err != nil {
		t.Fatal(err)
	}
	for e := range eve.Events() {
		if e.Kind == chat.KindMessage && e.Nick == "dee" && e.Text == "hello from a" {
			break
		}
	}
	carl.until("MSG lobby dee hello from a")

	// A nickname given up on one server is free on the other.
	ann.send("/nick anna")
	bob.until("NICK go ann anna")
	carl.retry("/nick ann", "NICK lobby carl ann")
}
