package httpfetch

import (
	"encoding/json"
	"errors"
	"os"
)

// state is what a download knows about its resource and its progress. It
// is saved beside the partial file (dest + ".part.state") every
// stateInterval while the download runs and when it stops early, so that
// the next Fetch of the same URL to the same place can resume it, even
// after the process was killed.
type state struct {
	URL       string  `json:"url"`       // the URL asked for, not the one redirected to
	Validator string  `json:"validator"` // strong ETag or Last-Modified; sent as If-Range
	Size      int64   `json:"size"`      // complete length, -1 when unknown
	Ranges    bool    `json:"ranges"`    // the server honours Range with this validator
	Encoding  string  `json:"encoding,omitempty"`
	Parts     []*part `json:"parts"`
}

// part is one byte range of the resource, downloaded by one goroutine.
type part struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"` // inclusive; -1 (only with Size -1) means to the end
	Next  int64 `json:"next"` // first byte not yet written
}

// complete reports whether the part holds all its bytes.
func (p *part) complete() bool { return p.Last >= 0 && p.Next > p.Last }

// held returns the bytes of the state's parts already written.
func (st *state) held() int64 {
	var n int64
	for _, p := range st.Parts {
		n += p.Next - p.First
	}
	return n
}

const maxStateSize = 1 << 20

var errBadState = errors.New("httpfetch: invalid resume state")

// decodeState parses and checks a saved state. Only states that can be
// resumed are ever saved, so anything else is rejected.
func decodeState(b []byte) (*state, error) {
	if len(b) > maxStateSize {
		return nil, errBadState
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, errBadState
	}
	if st.URL == "" || st.Validator == "" || !st.Ranges || st.Encoding != "" ||
		len(st.Parts) == 0 || len(st.Parts) > 1024 || st.Size < -1 {
		return nil, errBadState
	}
	var end int64 // the parts must be in order, contiguous and cover the resource
	for i, p := range st.Parts {
		if p == nil || p.First != end || p.Next < p.First {
			return nil, errBadState
		}
		if p.Last < 0 {
			if st.Size != -1 || p.Last != -1 || i != len(st.Parts)-1 {
				return nil, errBadState
			}
			return &st, nil
		}
		if p.Last < p.First || p.Next > p.Last+1 || st.Size >= 0 && p.Last >= st.Size {
			return nil, errBadState
		}
		end = p.Last + 1
	}
	if end != st.Size {
		return nil, errBadState
	}
	return &st, nil
}

// loadState reads the state at path; it returns nil if there is none, it
// is invalid, or it belongs to another URL.
func loadState(path, url string) *state {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	st, err := decodeState(b)
	if err != nil || st.URL != url {
		return nil
	}
	return st
}

// saveState writes st to path atomically, and syncs it first if sync is
// set.
func saveState(path string, st *state, sync bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, sync)
}

// clone returns a deep copy of st.
func (st *state) clone() *state {
	c := *st
	c.Parts = make([]*part, len(st.Parts))
	for i, p := range st.Parts {
		cp := *p
		c.Parts[i] = &cp
	}
	return &c
}

// writeFileAtomic replaces the file at path with one that holds b: it
// writes path + ".tmp", syncs it if sync is set, and renames it into
// place, so that a reader (or a crash) sees the old file or the new one,
// never a part of either. Only the holder of the destination's lock
// writes these files, so the temporary name is fixed; one left by a
// killed download is removed by the next one ([lockDest]).
func writeFileAtomic(path string, b []byte, sync bool) error {
	tmp, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
