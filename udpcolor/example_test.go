package udpcolor_test

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/sockkit/sockkit/udpcolor"
)

// A server with a transcript and two members: alice speaks, bob hears.
func Example() {
	ctx := context.Background()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &udpcolor.Server{Transcript: os.Stdout, Color: udpcolor.ColorNever}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(ctx, pc) }()
	addr := pc.LocalAddr().String()

	var cl udpcolor.Client
	alice, err := cl.Join(ctx, addr, "alice")
	if err != nil {
		fmt.Println(err)
		return
	}
	bob, err := cl.Join(ctx, addr, "bob")
	if err != nil {
		fmt.Println(err)
		return
	}
	alice.Send(ctx, "hello, bob")
	m := <-bob.Messages()
	fmt.Printf("bob got %q from %s\n", m.Text, m.Name)

	alice.Leave(ctx)
	bob.Leave(ctx)
	srv.Shutdown(ctx)
	fmt.Println(<-done)
	// Output:
	// * alice joined
	// * bob joined
	// alice : hello, bob
	// bob got "hello, bob" from alice
	// * alice left
	// * bob left
	// udpcolor: server closed
}

// The renderer removes what a peer must not print, and colours names
// only when asked to (or on a terminal without NO_COLOR).
func ExampleRenderer() {
	r := udpcolor.NewRenderer(os.Stdout, nil, udpcolor.ColorNever)
	r.Event("alex", "joined")
	r.Message("alex", "hi \x1b[2J\x1b]0;gotcha\x07there")

	// Into a pipe, as here, names get colour only when asked for: in 256
	// colours if TERM says the terminal has them, in 16 otherwise.
	auto := udpcolor.NewRenderer(os.Stdout, nil, udpcolor.ColorAuto)
	always := udpcolor.NewRenderer(os.Stdout, nil, udpcolor.ColorAlways)
	fmt.Println(auto.Colored(), always.Colored())
	// Output:
	// * alex joined
	// alex : hi there
	// false true
}

// Every name has the same colour everywhere; fixed assignments win.
func ExamplePalette() {
	p := udpcolor.NewPalette(map[string]udpcolor.Color{"alex": 33})
	for _, name := range []string{"alex", "alice", "bob"} {
		fmt.Println(name, p.Color(name))
	}
	// Output:
	// alex 33
	// alice 198
	// bob 166
}

func ExampleParse() {
	p, err := udpcolor.Parse([]byte("relay alice : hello"))
	fmt.Println(p.Kind, p.Name, p.Text, err)
	_, err = udpcolor.Parse([]byte("relay alice hello"))
	fmt.Println(err)
	// Output:
	// relay alice hello <nil>
	// udpcolor: malformed relay datagram: want NAME : TEXT
}

// A member signs each msg, ping and leave with the key of its welcome
// and the next counter; the server checks both.
func ExampleKey_Sign() {
	var key udpcolor.Key // the welcome's, in a real client
	p := key.Sign(udpcolor.Packet{Kind: udpcolor.KindMsg, Seq: 1, Text: "hello"})
	b, _ := p.Append(nil)
	fmt.Printf("%s\n", b)

	q, _ := udpcolor.Parse(b)
	fmt.Println(key.Verify(q))
	q.Text = "hellO"
	fmt.Println(key.Verify(q))
	// Output:
	// msg 1 E2-vNq2SXM_Ybw0DyFgR0Q hello
	// true
	// false
}
