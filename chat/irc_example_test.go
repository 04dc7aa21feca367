package chat_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/sockkit/sockkit/chat"
)

// An IRC client and a Go client share the lobby: one listener serves
// the plain dialect (and IRC, told by the first line), another IRC
// alone, as port 6667 would.
func ExampleServer_ServeIRC() {
	ctx := context.Background()
	srv := &chat.Server{}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	irc, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, plain)
	go srv.ServeIRC(ctx, irc)
	defer srv.Shutdown(ctx)

	bob, err := chat.Dial(ctx, plain.Addr().String(), "bob")
	if err != nil {
		panic(err)
	}
	defer bob.Close()

	ann, err := net.Dial("tcp", irc.Addr().String())
	if err != nil {
		panic(err)
	}
	defer ann.Close()
	io.WriteString(ann, "NICK ann\r\nUSER ann 0 * :Ann\r\n")
	lines := bufio.NewScanner(ann) // it drops the "\r\n"
	for lines.Scan() {
		if l := lines.Text(); strings.Contains(l, " 001 ") || strings.Contains(l, " 353 ") {
			fmt.Println(l)
		}
		if strings.Contains(lines.Text(), " 366 ") { // the end of the names
			break
		}
	}

	io.WriteString(ann, "PRIVMSG #lobby :hi bob\r\n")
	bob.Command(ctx, "me", "waves")
	for e := range bob.Events() {
		if e.Kind == chat.KindMessage {
			fmt.Println(e)
			break
		}
	}
	lines.Scan()
	fmt.Printf("%q\n", lines.Text())
	// Output:
	// :sockkit 001 ann :Welcome to the sockkit IRC network, ann!ann@sockkit
	// :sockkit 353 ann = #lobby :ann bob
	// MSG lobby ann hi bob
	// ":bob!bob@sockkit PRIVMSG #lobby :\x01ACTION waves\x01"
}
