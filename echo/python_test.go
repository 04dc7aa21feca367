package echo

import (
	"strings"
	"testing"
)

// The clients of the Python socket tutorials, as they are written there
// (only the address comes from the command line): a TCP client of the
// upper-casing echo server, a TCP client of the greeting server, and a
// UDP client of the "Hello, NAME!" server.
const (
	pyUpperClient = `
import socket, sys
addr = (sys.argv[1], int(sys.argv[2]))
for i in range(int(sys.argv[3])):
    s = socket.socket()
    s.connect(addr)
    s.sendall(b'hello')
    data = s.recv(1024)
    print(data.decode())
    s.close()
`
	pyGreetingClient = `
import socket, sys
s = socket.socket()
s.connect((sys.argv[1], int(sys.argv[2])))
data = s.recv(1024)
print(data.decode(), end='')
print('closed' if s.recv(1024) == b'' else 'still open')
s.close()
`
	pyHelloClient = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'Ada', (sys.argv[1], int(sys.argv[2])))
data, addr = s.recvfrom(1024)
print(data.decode())
s.close()
`
)

func TestInteropPythonTutorials(t *testing.T) {
	t.Parallel()
	python := peer(t, "python3", "python3")
	t.Run("upper-case echo, client after client", func(t *testing.T) {
		host, port := splitHostPort(t, serveTCP(t, &Server{Transform: Upper}))
		got := runPeer(t, "", python, "-c", pyUpperClient, host, port, "5")
		if want := strings.Repeat("HELLO\n", 5); got != want {
			t.Fatalf("python printed %q, want %q", got, want)
		}
	})
	t.Run("greeting", func(t *testing.T) {
		host, port := splitHostPort(t, serveTCP(t, &Server{Greeting: "Thank you for connecting"}))
		for range 3 {
			got := runPeer(t, "", python, "-c", pyGreetingClient, host, port)
			if want := "Thank you for connecting\nclosed\n"; got != want {
				t.Fatalf("python printed %q, want %q", got, want)
			}
		}
	})
	t.Run("UDP hello", func(t *testing.T) {
		host, port := splitHostPort(t, serveUDP(t, &Server{PacketHandler: Hello}))
		got := runPeer(t, "", python, "-c", pyHelloClient, host, port)
		if want := "Hello, Ada!\n"; got != want {
			t.Fatalf("python printed %q, want %q", got, want)
		}
	})
}
