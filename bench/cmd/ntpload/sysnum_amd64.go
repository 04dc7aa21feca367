//go:build linux

package main

const (
	sysRecvmmsg = 299
	sysSendmmsg = 307
)
