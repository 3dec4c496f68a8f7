package http

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBodyAsReadAll: readBody, which sizes its buffer by the announced
// length, reads what io.ReadAll of an io.LimitReader of body_limit + 1
// bytes reads, for bodies shorter than, as long as and longer than the
// limit, announced truthfully, not at all (chunked), too long or too short,
// delivered whole or a byte at a time, ending in an error or not.
func TestReadBodyAsReadAll(t *testing.T) {
	errCut := errors.New("connection reset")
	for _, limit := range []int64{1, 3, 511, 512, 513, 2000, firstBodyBuffer + 10} {
		for _, size := range []int64{0, 1, limit - 1, limit, limit + 1, 3*limit + 7} {
			if size < 0 {
				continue
			}
			body := bytes.Repeat([]byte("0123456789abcdef"), int(size/16)+1)[:size]
			announced := map[string]int64{"announced": size, "chunked": -1, "announced more": size + 100, "announced less": size / 2}
			for framing, cl := range announced {
				for _, delivery := range []string{"whole", "byte by byte", "then an error"} {
					reader := func() io.Reader {
						switch delivery {
						case "byte by byte":
							return iotest.OneByteReader(bytes.NewReader(body))
						case "then an error":
							return io.MultiReader(bytes.NewReader(body), iotest.ErrReader(errCut))
						}
						return bytes.NewReader(body)
					}
					want, wantErr := io.ReadAll(io.LimitReader(reader(), limit+1))
					got, err := readAtMost(reader(), limit+1, cl)
					if !bytes.Equal(got, want) || !errors.Is(err, wantErr) && err != wantErr {
						t.Errorf("limit %d, %d bytes, %s, %s: read %d bytes (err %v), want %d (err %v)",
							limit, size, framing, delivery, len(got), err, len(want), wantErr)
					}
				}
			}
		}
	}
}

// TestReadBodyAnnounced: a body of the length the server announced costs
// one buffer of that length and a byte, not ReadAll's 512 bytes; a body
// that says more than it sends gets at most firstBodyBuffer before its
// bytes arrive.
func TestReadBodyAnnounced(t *testing.T) {
	got, err := readAtMost(strings.NewReader("ok\n"), DefaultBodyLimit+1, 3)
	if string(got) != "ok\n" || err != nil || cap(got) != 4 {
		t.Errorf("read %q (err %v) into %d bytes, want \"ok\\n\" into 4", got, err, cap(got))
	}
	got, _ = readAtMost(strings.NewReader("short"), MaxBodyLimit+1, MaxBodyLimit)
	if string(got) != "short" || cap(got) != firstBodyBuffer {
		t.Errorf("read %q into %d bytes, want \"short\" into %d", got, cap(got), firstBodyBuffer)
	}
	// HEAD: the length announced is not a body's.
	body, truncated, err := readBody(&http.Response{Body: http.NoBody, ContentLength: 1 << 20}, DefaultBodyLimit)
	if body != "" || truncated || err != nil {
		t.Errorf("readBody of no body: %q, truncated %v, err %v", body, truncated, err)
	}
}

// TestLowerNames: the names lowerName knows are keyed as Go's client keys
// response headers, or they would never be found.
func TestLowerNames(t *testing.T) {
	for name, lower := range lowerNames {
		if c := textproto.CanonicalMIMEHeaderKey(name); c != name {
			t.Errorf("%q is not canonical (%q): Go's client never keys a header so", name, c)
		}
		if lower != strings.ToLower(name) {
			t.Errorf("lowerNames[%q] = %q", name, lower)
		}
	}
	for _, name := range []string{"Content-Type", "X-Custom-Thing", "Etag"} {
		if got := lowerName(name); got != strings.ToLower(name) {
			t.Errorf("lowerName(%q) = %q", name, got)
		}
	}
}
