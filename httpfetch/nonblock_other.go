//go:build !unix

package httpfetch

// oNonblock is 0 where FIFOs cannot block an open.
const oNonblock = 0
