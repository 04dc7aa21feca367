package timesync_test

import (
	"context"
	"testing"

	"github.com/sockkit/sockkit/internal/servertest"
	"github.com/sockkit/sockkit/timesync"
)

// TestConformance runs the lifecycle contract that every sockkit server
// meets (internal/servertest) against ServePacket. The server keeps no
// sessions, so there is none to hold.
func TestConformance(t *testing.T) {
	servertest.RunPacket(t, servertest.Packet[*timesync.Server]{
		Name:            "timesync",
		New:             func(testing.TB) *timesync.Server { return new(timesync.Server) },
		ErrServerClosed: timesync.ErrServerClosed,
		Session:         queryOnce,
		BadSettings: []servertest.BadSetting[*timesync.Server]{
			{Field: "Stratum", Set: func(s *timesync.Server) { s.Stratum = 16 }},
			{Field: "MaxDatagram", Set: func(s *timesync.Server) { s.MaxDatagram = 47 }},
			{Field: "Precision", Set: func(s *timesync.Server) { s.Precision = 1 }},
			{Field: "RootDelay", Set: func(s *timesync.Server) { s.RootDelay = -1 }},
		},
	})
}

// queryOnce is one NTP query with the package's client.
func queryOnce(ctx context.Context, addr string) error {
	_, err := (&timesync.Client{Samples: 1}).Query(ctx, addr)
	return err
}
