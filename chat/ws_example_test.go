package chat_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/coder/websocket"

	"github.com/sockkit/sockkit/chat"
)

// A browser and an nc user in one room: the server serves TCP and, through
// an HTTP server, the page and its WebSocket. The browser here is a Go
// program that sends one line per message, as the page does.
func ExampleWebSocket() {
	ctx := context.Background()
	srv := &chat.Server{}
	defer srv.Shutdown(ctx)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, l)
	ws := new(chat.WebSocket)
	go srv.Serve(ctx, ws)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", chat.WebPage())
	mux.Handle("GET /ws", ws)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	nc, err := chat.Dial(ctx, l.Addr().String(), "nc")
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	browser, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws", nil)
	if err != nil {
		panic(err)
	}
	defer browser.CloseNow()
	for _, line := range []string{"/nick web", "hello from a browser", "/quit"} {
		browser.Write(ctx, websocket.MessageText, []byte(line))
	}
	for {
		_, msg, err := browser.Read(ctx)
		if err != nil {
			break // the server closed after its BYE
		}
		fmt.Printf("browser got %s\n", msg)
	}
	for e := range nc.Events() {
		if e.Nick == "web" {
			fmt.Printf("nc got %s\n", e)
		}
		if e.Kind == chat.KindQuit {
			break
		}
	}
	// Output:
	// browser got HELLO sockkit chat: send your nickname (1-16 letters, digits, _ or -); /help lists the commands
	// browser got WELCOME web welcome; you are in lobby
	// browser got JOIN lobby web
	// browser got MSG lobby web hello from a browser
	// browser got BYE quit goodbye
	// nc got JOIN lobby web
	// nc got MSG lobby web hello from a browser
	// nc got QUIT lobby web
}
