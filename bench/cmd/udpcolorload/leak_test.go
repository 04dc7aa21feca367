package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is still running
// when they have all finished: no server, client or session of a test may
// outlive it. Checking once at the end, rather than in each test, lets the
// tests run in parallel.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
