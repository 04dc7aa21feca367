package park_test

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sockkit/sockkit/internal/park"
)

// session is a server's state for one connection, with its park.Conn
// embedded; it is its own park.Waker.
type session struct {
	name  string
	park  park.Conn
	wg    *sync.WaitGroup
	woken chan string
}

// Wake gives the session a goroutine again; here it only reports why.
func (s *session) Wake(e park.Event) {
	s.wg.Go(func() { s.woken <- s.name + ": " + e.String() })
}

// Two idle connections wait in a Poller without a goroutine each: one
// is woken when its peer writes, the other is handed back at Close.
func Example() {
	p, err := park.New()
	if err != nil {
		fmt.Println(err) // not on Linux: keep a goroutine per connection
		return
	}
	go p.Run()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	var wg sync.WaitGroup
	woken := make(chan string, 2)
	var peers []net.Conn
	for _, name := range []string{"talker", "sleeper"} {
		peer, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			fmt.Println(err)
			return
		}
		defer peer.Close()
		peers = append(peers, peer)
		c, err := l.Accept()
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		s := &session{name: name, wg: &wg, woken: woken}
		if err := p.Register(&s.park, c.(*net.TCPConn), s); err != nil {
			fmt.Println(err)
			return
		}
		if err := s.park.Park(time.Time{}); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("parked:", p.Len())

	peers[0].Write([]byte("hello"))
	fmt.Println(<-woken)
	p.Close()
	fmt.Println(<-woken)
	wg.Wait()
	// Output:
	// parked: 2
	// talker: readable
	// sleeper: closed
}
