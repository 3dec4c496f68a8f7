// Package capturetest reads back the capture files nettest writes, for
// tests. It reads with gopacket's pcapgo, a reader independent of the
// writer in package capture, so a test that passes shows the file is
// pcapng as others read it. It lives apart from package capture so that
// gopacket, whose generated tables cost every run memory and start-up
// time, stays out of the nettest binary.
package capturetest

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// File is a capture file as nettest wrote it, read back: for tests that
// look at what a check left.
type File struct {
	// Comment is the section's comment: the check, its verdict and flows.
	Comment string
	Packets []Packet
}

// Packet is one packet of a File, starting at its IP header.
type Packet struct {
	Data []byte
	At   time.Time
	// Comment names the check and the attempt.
	Comment string
}

// ReadFile reads a pcapng file written by a capture.Recorder.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, err
	}
	out := &File{Comment: r.SectionInfo().Comment}
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := Packet{Data: data, At: ci.Timestamp}
		if len(opts.Comments) > 0 {
			p.Comment = opts.Comments[0]
		}
		out.Packets = append(out.Packets, p)
	}
}
