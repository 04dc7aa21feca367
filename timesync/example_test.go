package timesync_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/sockkit/sockkit/timesync"
)

// serve starts srv on a loopback port and returns its address and a
// function that stops it.
func serve(srv *timesync.Server) (addr string, stop func()) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.ServePacket(context.Background(), pc); close(done) }()
	return pc.LocalAddr().String(), func() { srv.Shutdown(context.Background()); <-done }
}

// A server answers NTP clients and the format service on one port; the
// client measures the offset of the local clock from it.
func Example() {
	addr, stop := serve(&timesync.Server{})
	defer stop()

	ctx := context.Background()
	var c timesync.Client
	r, err := c.Query(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stratum", r.Stratum, timesync.RefIDString(r.Stratum, r.RefID), "from", r.Samples, "samples")
	fmt.Println("same clock, so the offset is under the delay:", r.Offset.Abs() <= r.Delay+time.Millisecond)

	s, err := c.Format(ctx, addr, "%H:%M:%S")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("formatted time has", len(s), "bytes")
	// Output:
	// stratum 1 LOCL from 4 samples
	// same clock, so the offset is under the delay: true
	// formatted time has 8 bytes
}

// The format service answers bad formats with an error reply, which the
// client returns as a *ServerError; formats it cannot parse itself it
// does not send.
func ExampleClient_Format() {
	addr, stop := serve(&timesync.Server{MaxFormat: 8})
	defer stop()

	var c timesync.Client
	_, err := c.Format(context.Background(), addr, "%Y-%m-%d %H:%M:%S")
	var se *timesync.ServerError
	if errors.As(err, &se) {
		fmt.Println("server says:", se.Reason)
	}
	_, err = c.Format(context.Background(), addr, "%Q")
	fmt.Println(err)
	// Output:
	// server says: format too long: 17 bytes, at most 8
	// timesync: bad format at byte 0: unknown conversion %Q
}

// A client that queries too often gets a Kiss-o'-Death. This server
// allows two requests and the client wants eight: the query stops at the
// "RATE" and returns the two samples it has with the error.
func ExampleKissOfDeathError() {
	addr, stop := serve(&timesync.Server{PacketsPerSecond: 0.01, PacketBurst: 2})
	defer stop()

	c := timesync.Client{Samples: 8}
	r, err := c.Query(context.Background(), addr)
	var kod *timesync.KissOfDeathError
	if errors.As(err, &kod) {
		fmt.Println("kiss code", kod.Code)
	}
	if r != nil {
		fmt.Println("kept", r.Samples, "samples")
	}
	// Output:
	// kiss code RATE
	// kept 2 samples
}

// Strftime formats a time with the conversions of the format service.
func ExampleStrftime() {
	t := time.Date(2036, 2, 7, 6, 28, 16, 250_000_000, time.UTC)
	for _, f := range []string{"%A %e %B %Y, %T.%3N %Z (day %j)", "%c", "%G-W%V-%u %l:%M %P"} {
		s, err := timesync.Strftime(f, t)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s)
	}
	// Output:
	// Thursday  7 February 2036, 06:28:16.250 UTC (day 038)
	// Thu Feb  7 06:28:16 2036
	// 2036-W06-4  6:28 am
}

// The format service answers at most three times the bytes of a request,
// so a client pads its request for a long reply. FormatRequestSize says
// how much Client.Format sends.
func ExampleFormatRequestSize() {
	for _, f := range []string{"%Y-%m-%d %H:%M:%S", "%c", "%A %d %B %Y"} {
		fmt.Printf("%q: %d bytes\n", f, timesync.FormatRequestSize(f))
	}
	// Output:
	// "%Y-%m-%d %H:%M:%S": 18 bytes
	// "%c": 8 bytes
	// "%A %d %B %Y": 12 bytes
}

// NTP timestamps wrap on 2036-02-07; Time reads them in the era closest to
// a pivot, such as the local clock.
func ExampleTimestamp_Time() {
	boundary := time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
	before := timesync.TimestampOf(boundary.Add(-time.Second))
	after := timesync.TimestampOf(boundary.Add(time.Second))
	fmt.Println(before, after)
	fmt.Println(after.Time(boundary), after.Sub(before))
	// Output:
	// ffffffff.00000000 00000001.00000000
	// 2036-02-07 06:28:17 +0000 UTC 2s
}
