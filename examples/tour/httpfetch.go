package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sockkit/sockkit/httpfetch"
)

func init() { register(40, "httpfetch", tourHttpfetch) }

// tourHttpfetch serves a small temporary directory, downloads from it in
// parallel ranges with a checksum, and shows the Hello World page of a
// server without a directory.
func tourHttpfetch(ctx context.Context, w io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "sockkit-tour-httpfetch")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	big := bytes.Repeat([]byte("sockkit tour "), 400000) // 5.2 MB
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".secret"), []byte("hidden"), 0o644); err != nil {
		return err
	}

	files := &httpfetch.Server{Dir: dir}
	hello := &httpfetch.Server{}
	var stops []func() error
	defer func() {
		for _, stop := range stops {
			if serr := stop(); err == nil {
				err = serr
			}
		}
	}()
	start := func(s *httpfetch.Server) (string, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, l) }()
		stops = append(stops, func() error {
			if err := s.Shutdown(ctx); err != nil {
				return err
			}
			if err := <-done; !errors.Is(err, httpfetch.ErrServerClosed) {
				return err
			}
			return nil
		})
		return "http://" + l.Addr().String(), nil
	}
	filesURL, err := start(files)
	if err != nil {
		return err
	}
	helloURL, err := start(hello)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "server: a temporary directory with big.bin (%d bytes) and .secret\n", len(big))

	c := &httpfetch.Client{Parallel: 4, MinPartSize: 1 << 20, NoSync: true}
	defer c.CloseIdleConnections()
	sum := sha256.Sum256(big)
	dest := filepath.Join(dir, "copy.bin")
	res, err := c.Download(ctx, httpfetch.Request{URL: filesURL + "/big.bin", Dest: dest, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "client: big.bin -> copy.bin, %d bytes in %d parallel ranges, sha256 verified: %v\n", res.Size, res.Parts, res.SHA256 != "")

	// A download cut off half way (its context cancelled, as by Ctrl-C or
	// a lost connection) resumes where it stopped on the next call.
	cut, cutCancel := context.WithCancel(ctx)
	defer cutCancel()
	one := &httpfetch.Client{Parallel: 1, NoSync: true, ProgressInterval: time.Nanosecond,
		Progress: func(p httpfetch.Progress) {
			if p.Done >= int64(len(big))/2 {
				cutCancel()
			}
		}}
	defer one.CloseIdleConnections()
	part := filepath.Join(dir, "resumed.bin")
	req := httpfetch.Request{URL: filesURL + "/big.bin", Dest: part, SHA256: hex.EncodeToString(sum[:])}
	if _, err := one.Download(cut, req); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("the interrupted download: %v", err)
	}
	fmt.Fprintln(w, "client: big.bin -> resumed.bin, interrupted once half of it had arrived (context cancelled)")
	one.Progress = nil
	res, err = one.Download(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "client: again -> resumed after %d%% of the file, %d bytes, sha256 verified: %v\n",
		100*res.Resumed/res.Size, res.Size, res.SHA256 != "")

	_, err = c.FetchTo(ctx, filesURL+"/.secret", io.Discard)
	var se *httpfetch.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("fetching a dotfile: %v", err)
	}
	fmt.Fprintf(w, "client: .secret -> %s (dotfiles are not served)\n", se.Status)

	var page strings.Builder
	if _, err := c.FetchTo(ctx, helloURL+"/", &page); err != nil {
		return err
	}
	fmt.Fprintf(w, "client: GET / from a server without a directory -> %q\n", strings.TrimSpace(between(page.String(), "<h1>", "</h1>")))
	fmt.Fprintln(w, "servers: shut down")
	return nil
}

// between returns the text between the first a and the next b in s.
func between(s, a, b string) string {
	_, s, _ = strings.Cut(s, a)
	s, _, _ = strings.Cut(s, b)
	return s
}
