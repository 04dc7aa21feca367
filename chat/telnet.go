package chat

import "sync/atomic"

// Telnet commands (RFC 854): each follows IAC (0xff). Only the ones the
// server acts on, or must tell apart, are named.
const (
	tnSE   = 0xf0 // end of subnegotiation
	tnEL   = 0xf8 // erase line
	tnIP   = 0xf4 // interrupt process: telnet sends it for Ctrl-C
	tnSB   = 0xfa // start of subnegotiation
	tnWILL = 0xfb
	tnWONT = 0xfc
	tnDO   = 0xfd
	tnDONT = 0xfe
	tnIAC  = 0xff // "interpret as command"; IAC IAC is the data byte 0xff

	// tnFirstCommand is the lowest command byte: IAC followed by a
	// lower byte starts no command.
	tnFirstCommand = tnSE
)

// The states of the telnet parser between two bytes.
const (
	tnData   = iota // ordinary bytes
	tnCmd           // after IAC
	tnOpt           // after IAC WILL, WONT, DO or DONT: the option byte comes
	tnSub           // inside IAC SB ... IAC SE
	tnSubCmd        // after IAC inside a subnegotiation
)

// tnAction is what one byte after IAC means for the line being read.
type tnAction uint8

const (
	tnNone  tnAction = iota // the byte belongs to a command: nothing for the line
	tnByte                  // IAC IAC: the data byte 0xff
	tnBytes                 // IAC and a byte that starts no command: the data byte 0xff, then the byte itself as data
	tnErase                 // IAC IP or IAC EL: the line read so far is thrown away
)

// telnet follows the commands that telnet clients mix into what they
// send (see the package documentation, "Telnet"): it takes them out of
// the lines and refuses every option the client offers or asks for. It
// is used by the session goroutine only, except seen.
type telnet struct {
	state uint8
	verb  byte // WILL, WONT, DO or DONT, in state tnOpt

	// send queues a reply for the client; nil sends nothing.
	send func(reply []byte)

	// seen is set once the client has sent a command: it speaks
	// telnet, and the data byte 0xff must be doubled in what it is
	// sent.
	seen atomic.Bool
}

// start is called for an IAC among ordinary bytes.
func (t *telnet) start() { t.state = tnCmd }

// step takes the byte c, which follows IAC or is part of a command, and
// returns what it means for the line.
func (t *telnet) step(c byte) tnAction {
	switch t.state {
	case tnCmd:
		t.state = tnData
		if c >= tnFirstCommand && !t.seen.Load() {
			t.seen.Store(true)
		}
		switch {
		case c == tnIAC:
			return tnByte
		case c < tnFirstCommand:
			return tnBytes
		case c == tnIP, c == tnEL:
			return tnErase
		case c == tnSB:
			t.state = tnSub
		case c >= tnWILL: // WILL, WONT, DO, DONT
			t.state, t.verb = tnOpt, c
		}
		// SE, NOP, DM, BRK, AO, AYT, EC and GA are ignored.
	case tnOpt:
		t.state = tnData
		t.answer(t.verb, c)
	case tnSub:
		if c == tnIAC {
			t.state = tnSubCmd
		}
	case tnSubCmd:
		switch c {
		case tnSE:
			t.state = tnData
		case tnIAC: // IAC IAC inside: a data byte of the subnegotiation
			t.state = tnSub
		default: // the subnegotiation was cut short by another command
			t.state = tnCmd
			return t.step(c)
		}
	}
	return tnNone
}

// answer refuses an option: DO is answered WONT, and WILL is answered
// DONT. WONT and DONT ask for what is the case already, and get no answer
// (RFC 854, and RFC 1143 on avoiding loops). The refusal of DO
// TIMING-MARK, which telnet sends after IAC IP, is what lets it show
// the server's lines again: it drops them until it gets an answer.
func (t *telnet) answer(verb, option byte) {
	if t.send == nil {
		return
	}
	switch verb {
	case tnDO:
		t.send([]byte{tnIAC, tnWONT, option})
	case tnWILL:
		t.send([]byte{tnIAC, tnDONT, option})
	}
}
