//go:build linux

package main

const (
	sysRecvmmsg = 243
	sysSendmmsg = 269
)
