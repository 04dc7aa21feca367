module github.com/sockkit/sockkit/bench

go 1.26.0

require github.com/sockkit/sockkit v0.0.0

replace github.com/sockkit/sockkit => ../
