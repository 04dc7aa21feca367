// Package httpfetch serves files over HTTP and downloads them, both on
// net/http, and gets right what the "write your own web server" and
// "download a file in Go" tutorials leave out.
//
// A [Server] serves a directory (or an [fs.FS]) with byte ranges,
// validators and content types, keeps every request inside its root, and
// cannot be held by slow or stalled clients; with no directory it answers
// the tutorial's "Hello World" page at every path. A [Client] downloads to
// a temporary file beside the destination and renames it only when it is
// complete and verified; it resumes (also after the process was killed),
// splits large files into parallel ranges, retries what is worth
// retrying, never lets two downloads write one file, and notices when
// the file changes on the server while it downloads.
//
// # Protocol
//
// HTTP/1.1 (RFC 9110, RFC 9112) carries everything; this package does not
// parse HTTP itself, it uses net/http. What matters for downloads are a
// handful of headers. A client asks for part of a file with Range, and
// makes it conditional with If-Range, which holds the validator (the
// strong ETag, or the Last-Modified date) of the copy it already has:
//
//	GET /big.iso HTTP/1.1
//	Host: 127.0.0.1:8080
//	Range: bytes=1048576-
//	If-Range: "18c2b4a9e3f1a2c0-40000000"
//	Accept-Encoding: identity
//
// If the file is unchanged the server sends only that range, and says
// where it lies in the whole:
//
//	HTTP/1.1 206 Partial Content
//	Content-Range: bytes 1048576-1073741823/1073741824
//	Content-Length: 1072693248
//	ETag: "18c2b4a9e3f1a2c0-40000000"
//
// If the file changed, the validator does not match and the server sends
// the whole new file with 200 OK: the client must then throw away what it
// had, not append the new bytes to the old ones (the classic corruption of
// naive resumers, which send Range without If-Range). A server that does
// not support ranges also answers 200, with the whole file. A range that
// starts at or past the end, or a suffix of no bytes ("bytes=-0"), gets
// 416 Range Not Satisfiable with "Content-Range: bytes */SIZE".
//
// Content-Range is "bytes FIRST-LAST/SIZE" (LAST inclusive, SIZE may be
// "*" when unknown). The client checks that FIRST is what it asked for,
// that Content-Length is LAST-FIRST+1, and that SIZE and the validator are
// those of the first response; anything else makes it start over, in one
// stream. "Accept-Encoding: identity" (and no transparent decompression)
// keeps the byte offsets of ranges the offsets of the stored file; a server
// that compresses anyway is downloaded as it sends, whole, in one stream.
//
// Retry-After (seconds, or an HTTP date) on 429 and 503 says when to try
// again; the client waits that long, if it is not longer than
// [Client.MaxRetryWait].
//
// # Server
//
// The server's ETag is the file's modification time in nanoseconds and
// its size, in hex ([ETag]); Last-Modified is the modification time;
// Content-Type comes from the extension, else from sniffing the first
// 512 bytes. Paths with a ".." element are refused with 400; files are
// opened through [os.Root], so that symbolic links cannot lead out of the
// root either; names starting with a dot answer 404 unless
// [Server.Dotfiles] is set. The server has a header timeout, an idle
// timeout and a connection limit, and instead of a total write timeout
// (which cuts any download that takes longer) a progress deadline: each
// [WriteChunk] bytes must leave within [Server.WriteTimeout]. Files are
// sent with sendfile(2) where the system has it.
//
// Ranges are answered as RFC 9110 section 14 says, which
// [net/http.ServeContent] alone does not do for a few edge cases: a
// suffix of no bytes ("bytes=-0") and an invalid range set ("bytes=5-2")
// get 416 with "Content-Range: bytes */SIZE"; unsatisfiable ranges
// beside satisfiable ones are dropped ("bytes=-0,0-1" is "bytes=0-1");
// a range unit other than bytes is ignored (200), and "Bytes" is bytes;
// a position too large for an int64 is clamped to the file; an empty
// file is sent whole with 200; more than 64 ranges get the whole file.
// These match nginx, except where nginx breaks the RFC (an empty list
// element, a position past int64) or refuses an invalid range of an
// empty file.
//
// # Client
//
// [Client.Fetch] first asks for "Range: bytes=0-". A 206 answer with a
// strong validator and a known size means the download can be split and
// resumed: files of at least twice [Client.MinPartSize] are split into up
// to [Client.Parallel] ranges fetched at once (golang.org/x/sync/errgroup),
// each resumed on its own after a lost connection. Anything else (200, no
// validator, unknown size, a compressed body) is one stream, which is
// resumed if the server allows it and started over if not. Transient
// failures are retried with exponential backoff. A resumable download
// stopped for good (cancelled, retries exhausted, the process killed)
// keeps its ".part" file and a small ".part.state" file for the next call
// to resume; any other failure (checksum, size, changed file, 4xx)
// removes them, because those bytes are useless.
//
// # Resume state
//
// The ".part.state" file (JSON: the URL, the validator, the size and, for
// each part, its first, last and next byte) is saved every second while a
// resumable download runs, if bytes arrived since the last save, and once
// more when it stops; so a process that is killed (SIGKILL, the OOM
// killer, a power cut) loses about a second of download, plus up to
// 1 MiB per part still in memory. Each save takes a copy of the parts'
// progress, counting only bytes already written to the ".part"; syncs
// the ".part" with fsync(2), so that those bytes are on disk; writes the
// state to ".part.state.tmp", syncs it, and renames it over
// ".part.state". A crash at any point leaves the old state or the new
// one, each describing bytes the ".part" holds. The state is removed
// before a download starts over (which empties the ".part") and before
// the final rename, so no state ever describes a file that is gone.
// [Client.NoSync] skips the syncs: the state is then right after a
// killed process, but not after a power cut.
//
// # Locking
//
// A download to a file holds an exclusive lock on its ".part" from before
// it reads the resume state until after the final rename, and writes its
// process id (and a digest of the URL) in ".part.lock" beside it. A
// second download to the same destination, in this process or another,
// fails at once with a [LockedError] that names that process; with
// [Client.WaitForLock] it waits instead, then resumes what the first one
// left, or, if the first one completed the same URL, downloads nothing
// ([Result.CompletedBy]). On Linux, the BSDs, macOS and Solaris the lock
// is an advisory flock(2) on the ".part" itself, which the kernel drops
// when the holder exits, however it exits; ".part.lock" only names the
// holder and is overwritten by the next one. Elsewhere ".part.lock" is
// the lock, created with O_EXCL: a killed download leaves it, and the
// [LockedError] says to remove it. The lock is advisory: it keeps
// downloads of this package (and the httpfetch command) apart, not other
// programs that write the same file.
//
// # Limits and defaults
//
// Server: [DefaultMaxConns] connections (503 past it),
// [DefaultReadHeaderTimeout] to send headers, [DefaultIdleTimeout] between
// requests, [DefaultWriteTimeout] per [WriteChunk], headers up to
// [DefaultMaxHeaderBytes]; requests with a body are refused.
//
// Client: [DefaultMaxSize] bytes, [DefaultMaxRedirects] redirects to
// http or https only, [DefaultParallel] ranges at once (at most
// [MaxParallel]), [DefaultRetries] retries waiting from
// [DefaultRetryWait] to [DefaultMaxRetryWait], [DefaultStallTimeout]
// without a byte before a request is abandoned, no rate limit
// ([Client.RateLimit]). A refused connection is not retried unless
// [Client.RetryRefused] is set: nothing listens there, and curl and
// wget give up at once too. [Client.OnRetry] hears of each retry.
package httpfetch
