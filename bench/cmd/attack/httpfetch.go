package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sockkit/sockkit/httpfetch"
)

const blobSize = 4 << 20

// withFileServer serves a directory holding blob.bin, blobSize random
// bytes, and runs f with the file's URL and contents.
func withFileServer(ctx context.Context, e *env, r *Result, f func(c *child, url string, blob []byte) error) error {
	dir, err := os.MkdirTemp("", "attack-httpfetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	blob := make([]byte, blobSize)
	rand.Read(blob)
	if err := os.WriteFile(filepath.Join(dir, "blob.bin"), blob, 0o644); err != nil {
		return err
	}
	return withServer(ctx, e, r, func(c *child) error {
		return f(c, "http://"+c.addr["tcp"]+"/blob.bin", blob)
	}, "-dir", dir, "httpfetch")
}

// rawGet sends one GET with a Range header over a connection of its own
// and returns the response, its body read.
func rawGet(ctx context.Context, addr, rangeHeader string) (*http.Response, []byte, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(nc, "GET /blob.bin HTTP/1.1\r\nHost: %s\r\nRange: %s\r\nConnection: close\r\n\r\n", addr, rangeHeader)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp, body, err
}

// rangeHTTP: edge ranges. "bytes=-0" asks for no bytes, which no range
// can be: 416 with "Content-Range: bytes */SIZE". A set of overlapping
// ranges, each the whole file, must not buy more than the file.
func rangeHTTP(ctx context.Context, e *env, r *Result) error {
	r.LegitTarget = 0
	return withFileServer(ctx, e, r, func(c *child, _ string, blob []byte) error {
		addr := c.addr["tcp"]
		size := strconv.Itoa(len(blob))
		tests := []struct {
			rng       string
			status    int
			cr        string // Content-Range wanted, if not empty
			maxBody   int
			wantBytes []byte // the body wanted, if not nil
		}{
			{"bytes=-0", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, 4096, nil},
			{"bytes=5-2", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, 4096, nil},
			{"bytes=" + size + "-", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, 4096, nil},
			{"bytes=-0,0-1", http.StatusPartialContent, "bytes 0-1/" + size, 2, blob[:2]},
			{"bytes=" + strings.Repeat("0-,", 63) + "0-", 0, "", len(blob) + 64<<10, nil},
			{"bytes=" + strings.Repeat("0-0,", 200) + "0-0", 0, "", len(blob) + 64<<10, nil},
		}
		var summary []string
		for _, tt := range tests {
			resp, body, err := rawGet(ctx, addr, tt.rng)
			label := tt.rng
			if len(label) > 24 {
				label = label[:20] + "...(" + strconv.Itoa(strings.Count(tt.rng, ",")+1) + " ranges)"
			}
			if err != nil {
				r.Fails = append(r.Fails, fmt.Sprintf("%s: %v", label, err))
				continue
			}
			summary = append(summary, fmt.Sprintf("%s -> %d, %d B", label, resp.StatusCode, len(body)))
			switch {
			case tt.status != 0 && resp.StatusCode != tt.status:
				r.Fails = append(r.Fails, fmt.Sprintf("%s: status %d, want %d", label, resp.StatusCode, tt.status))
			case tt.cr != "" && resp.Header.Get("Content-Range") != tt.cr:
				r.Fails = append(r.Fails, fmt.Sprintf("%s: Content-Range %q, want %q", label, resp.Header.Get("Content-Range"), tt.cr))
			case len(body) > tt.maxBody:
				r.Fails = append(r.Fails, fmt.Sprintf("%s: %d bytes of body for a file of %d", label, len(body), len(blob)))
			case tt.wantBytes != nil && !bytes.Equal(body, tt.wantBytes):
				r.Fails = append(r.Fails, fmt.Sprintf("%s: wrong bytes", label))
			}
		}
		r.Notes = append(r.Notes, strings.Join(summary, ", "))
		return nil
	})
}

// slowConn delays each read, so that a download lasts long enough for
// another one to meet it.
type slowConn struct{ net.Conn }

func (c slowConn) Read(b []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	return c.Conn.Read(b[:min(len(b), 16<<10)])
}

// lockHTTP: a download runs (slowed down by its own client); a second
// one to the same destination must fail at once with ErrLocked, and a
// third that waits for the lock must find the file complete; the file is
// the served one, byte for byte.
func lockHTTP(ctx context.Context, e *env, r *Result) error {
	return withFileServer(ctx, e, r, func(c *child, url string, blob []byte) error {
		dir, err := os.MkdirTemp("", "attack-dest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dest := filepath.Join(dir, "blob.bin")
		started := make(chan struct{})
		first := &httpfetch.Client{
			Parallel: 1,
			Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return slowConn{nc}, nil
			},
			ProgressInterval: 10 * time.Millisecond,
		}
		first.Progress = func(p httpfetch.Progress) {
			if p.Done > 0 {
				select {
				case <-started:
				default:
					close(started)
				}
			}
		}
		type outcome struct {
			res *httpfetch.Result
			err error
			at  time.Duration
		}
		begin := time.Now()
		firstDone := make(chan outcome, 1)
		go func() {
			res, err := first.Fetch(ctx, url, dest)
			firstDone <- outcome{res, err, time.Since(begin)}
		}()
		select {
		case <-started:
		case o := <-firstDone:
			return fmt.Errorf("the first download ended before it made progress: %v", o.err)
		case <-time.After(10 * time.Second):
			return errors.New("the first download made no progress in 10 s")
		}
		// The second, at once; the third waits for the lock.
		secondStart := time.Now()
		_, secondErr := (&httpfetch.Client{}).Fetch(ctx, url, dest)
		secondTook := time.Since(secondStart)
		thirdDone := make(chan outcome, 1)
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			res, err := (&httpfetch.Client{WaitForLock: true}).Fetch(wctx, url, dest)
			thirdDone <- outcome{res, err, time.Since(begin)}
		}()
		o1, o3 := <-firstDone, <-thirdDone

		r.Legit = 2
		if o1.err == nil {
			r.LegitOK++
		} else {
			r.Fails = append(r.Fails, "the first download: "+o1.err.Error())
		}
		if o3.err == nil {
			r.LegitOK++
			if o3.res.CompletedBy != os.Getpid() {
				r.Notes = append(r.Notes, fmt.Sprintf("the waiting download downloaded again (CompletedBy %d)", o3.res.CompletedBy))
			}
		} else {
			r.Fails = append(r.Fails, "the download that waited for the lock: "+o3.err.Error())
		}
		var le *httpfetch.LockedError
		switch {
		case secondErr == nil:
			r.Fails = append(r.Fails, "a second download to the same destination succeeded while the first ran")
		case !errors.Is(secondErr, httpfetch.ErrLocked) || !errors.As(secondErr, &le):
			r.Fails = append(r.Fails, "the second download failed, but not with ErrLocked: "+secondErr.Error())
		case secondTook > time.Second:
			r.Fails = append(r.Fails, fmt.Sprintf("the second download took %v to fail", secondTook.Round(time.Millisecond)))
		}
		got, err := os.ReadFile(dest)
		if err != nil {
			r.Fails = append(r.Fails, "the destination: "+err.Error())
		} else if !bytes.Equal(got, blob) {
			r.Fails = append(r.Fails, fmt.Sprintf("the destination differs from the served file (%d B, sha256 %x, want %x)", len(got), sha256.Sum256(got), sha256.Sum256(blob)))
		}
		left, _ := filepath.Glob(dest + ".part*")
		if len(left) > 0 {
			r.Fails = append(r.Fails, fmt.Sprintf("left behind: %s", strings.Join(left, " ")))
		}
		secondMsg := "<nil>"
		if secondErr != nil {
			secondMsg = secondErr.Error()
		}
		r.Notes = append(r.Notes, fmt.Sprintf("first download done in %v; the second failed after %v: %q; the third waited, and found the file completed by pid %d; the file is the served one: %v (%d B)",
			o1.at.Round(time.Millisecond), secondTook.Round(time.Microsecond), secondMsg, completedBy(o3.res), bytes.Equal(got, blob), len(got)))
		return nil
	})
}

func completedBy(res *httpfetch.Result) int {
	if res == nil {
		return 0
	}
	return res.CompletedBy
}
