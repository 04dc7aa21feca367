package timesync

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tutorialClient is the tutorials' UDP client of the format service, in
// Python: a plain datagram socket, sendto of the format, a blocking
// recvfrom(1024), decode and print. The only addition is the padding
// argument, a number of NUL bytes to send after the format, 0 for the
// tutorials' bare format.
const tutorialClient = `import socket, sys
host, port, fmt, pad = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(fmt.encode() + b'\0' * pad, (host, port))
data, addr = sock.recvfrom(1024)
print(data.decode())
`

// TestInteropPythonTutorialClient runs the tutorials' Python client
// against a default Server: the bare 17-byte "%Y-%m-%d %H:%M:%S" gets the
// 19-byte time (within three times the request), and so does "%Y-%m-%d";
// the bare "%c" (2 bytes, for a 24-byte reply) gets the error reply cut
// to 6 bytes, and "%c" padded to 8 bytes gets the time.
func TestInteropPythonTutorialClient(t *testing.T) {
	t.Parallel()
	python := need(t, "python3", "python3")
	addr := startServer(t, &Server{})
	host, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		name, format string
		pad          int
		shape        *regexp.Regexp
		layout       string // to read the reply back as a time, or "" for an error reply
	}{
		{"tutorial", "%Y-%m-%d %H:%M:%S", 0, regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`), time.DateTime},
		{"date", "%Y-%m-%d", 0, regexp.MustCompile(`^\d{4}-\d\d-\d\d$`), time.DateOnly},
		{"bare %c", "%c", 0, regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}$`), time.ANSIC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			before := time.Now()
			out, err := exec.CommandContext(ctx, python, "-c", tutorialClient, host, port, tc.format, strconv.Itoa(tc.pad)).CombinedOutput()
			after := time.Now()
			if err != nil {
				t.Fatalf("python3: %v\n%s", err, out)
			}
			reply := strings.TrimSuffix(string(out), "\n")
			if !tc.shape.MatchString(reply) {
				t.Fatalf("reply %q does not match %s", reply, tc.shape)
			}
			if tc.layout == "" {
				return
			}
			got, err := time.ParseInLocation(tc.layout, reply, time.Local)
			if err != nil {
				t.Fatal(err)
			}
			// The server formatted a time between before and after, cut
			// to the reply's precision: a second, or a day.
			earliest := before.Truncate(time.Second)
			if tc.layout == time.DateOnly {
				earliest = time.Date(before.Year(), before.Month(), before.Day(), 0, 0, 0, 0, time.Local)
			}
			if got.Before(earliest) || got.After(after) {
				t.Errorf("reply %q (%v) is not between %v and %v", reply, got, earliest, after)
			}
		})
	}
}
