package servertest

import (
	"fmt"
	"reflect"
	"syscall"
	"time"

	"github.com/sockkit/sockkit"
)

// setField sets the field called name of the struct srv points to, which
// must have type T. It returns an error naming the type and the field when
// there is no such field.
func setField[T any](srv any, name string, v T) error {
	want := reflect.TypeFor[T]()
	rv := reflect.ValueOf(srv)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%T is not a pointer to a struct, so the suite cannot set its %s", srv, name)
	}
	f := rv.Elem().FieldByName(name)
	switch {
	case !f.IsValid():
		return fmt.Errorf("%T has no field %s (%v), which the contract asks of every server", srv, name, want)
	case f.Type() != want:
		return fmt.Errorf("%T's field %s has type %v; the contract says %v", srv, name, f.Type(), want)
	case !f.CanSet():
		return fmt.Errorf("%T's field %s cannot be set", srv, name)
	}
	f.Set(reflect.ValueOf(v))
	return nil
}

// setShutdownTimeout sets srv's ShutdownTimeout field to d.
func setShutdownTimeout(srv any, d time.Duration) error {
	return setField(srv, "ShutdownTimeout", d)
}

// counters calls srv's Stats method and returns the [sockkit.Counters]
// its result embeds, or an error saying how Stats falls short of the
// contract.
func counters(srv any) (sockkit.Counters, error) {
	m := reflect.ValueOf(srv).MethodByName("Stats")
	if !m.IsValid() {
		return sockkit.Counters{}, fmt.Errorf("%T has no Stats method", srv)
	}
	mt := m.Type()
	if mt.NumIn() != 0 || mt.NumOut() != 1 || mt.Out(0).Kind() != reflect.Struct {
		return sockkit.Counters{}, fmt.Errorf("%T's Stats is a %v; the contract says func() Stats, a struct", srv, mt)
	}
	st := mt.Out(0)
	f, ok := st.FieldByName("Counters")
	if !ok || !f.Anonymous || f.Type != reflect.TypeFor[sockkit.Counters]() {
		return sockkit.Counters{}, fmt.Errorf("%v, the result of %T's Stats, does not embed sockkit.Counters", st, srv)
	}
	return m.Call(nil)[0].FieldByIndex(f.Index).Interface().(sockkit.Counters), nil
}

// isClosed reports whether x, a listener or packet conn of package net,
// has been closed, without using it: the closed probe of a raw conn fails
// once its file descriptor is closed.
func isClosed(x any) (bool, error) {
	sc, ok := x.(syscall.Conn)
	if !ok {
		return false, fmt.Errorf("%T has no SyscallConn method to tell whether it is closed", x)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true, nil
	}
	return rc.Control(func(uintptr) {}) != nil, nil
}
