package clitest

import (
	"encoding/json"
	"strings"
	"testing"
)

// Record is one log record written by slog's JSON handler.
type Record map[string]any

// Records returns the JSON log records among the lines of s, and fails
// the test if a line is a record of slog's text handler (-log json must
// leave none).
func Records(t testing.TB, s string) []Record {
	t.Helper()
	var recs []Record
	for line := range strings.Lines(s) {
		switch {
		case strings.HasPrefix(line, "{"):
			var r Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("not JSON: %q: %v", line, err)
			}
			recs = append(recs, r)
		case strings.HasPrefix(line, "time=") || strings.Contains(line, " level="):
			t.Fatalf("a text record with -log json: %q", line)
		}
	}
	return recs
}

// Find returns the first record whose msg is msg, or fails the test.
func Find(t testing.TB, recs []Record, msg string) Record {
	t.Helper()
	for _, r := range recs {
		if r["msg"] == msg {
			return r
		}
	}
	t.Fatalf("no record %q among %d", msg, len(recs))
	return nil
}
