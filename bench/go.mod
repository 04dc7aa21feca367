module github.com/sockkit/sockkit/bench

go 1.26.0

require (
	github.com/cloudwego/netpoll v0.7.2
	github.com/sockkit/sockkit v0.0.0
	golang.org/x/sync v0.24.0
)

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/term v0.47.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace github.com/sockkit/sockkit => ../
