//go:build !linux

package park

// Parking is implemented on Linux only; elsewhere New reports
// ErrUnsupported and no set is ever opened, so the functions below are
// never called.

type event struct{}

func openSet() (int, error) { return -1, ErrUnsupported }

func armFD(set, fd int, token uint64, registered bool) error { return ErrUnsupported }

func wait(set int, evs []event) (int, error) { return 0, ErrUnsupported }

func tokenOf(ev *event) uint64 { return 0 }
