//go:build !linux

package echo

import "github.com/sockkit/sockkit/internal/track"

// parker is only implemented on Linux; elsewhere idle connections wait in
// their goroutines.
type parker struct{}

func newParker(*Server, *track.Scope) *parker { return nil }
func (p *parker) park(*streamConn) bool       { return false }
func (p *parker) unpark(*streamConn) bool     { return false }
func (p *parker) stop()                       {}
