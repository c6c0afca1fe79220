// Command multipartbench measures Go's mime/multipart reader on the same
// bodies as bench/bench_multipart.c (built byte for byte the same from the
// same seed; the checksum proves it) and prints, per body,
//
//	NAME BYTES CHECKSUM go BEST_GBPS MEDIAN_GBPS
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"sort"
	"strconv"
	"time"
)

const boundary = "----mfuBenchBoundary7MA4YWxkTrZu0gW"

func rnd(s *uint64) uint64 {
	*s ^= *s >> 12
	*s ^= *s << 25
	*s ^= *s >> 27
	return *s * 2685821657736338717
}

func build(nparts, size int) ([]byte, int) {
	var b bytes.Buffer
	b.Grow(nparts*(size+256) + 256)
	s := uint64(0x9E3779B97F4A7C15)
	buf := make([]byte, size)
	for i := 0; i < nparts; i++ {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; "+
			"name=\"f\"; filename=\"f%05d.bin\"\r\n"+
			"Content-Type: application/octet-stream\r\n\r\n", boundary, i)
		j := 0
		for ; j+8 <= size; j += 8 {
			binary.LittleEndian.PutUint64(buf[j:], rnd(&s))
		}
		for ; j < size; j++ {
			buf[j] = byte(rnd(&s))
		}
		b.Write(buf)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nparts * size
}

func checksum(p []byte) uint64 {
	h := uint64(len(p))
	i := 0
	for ; i+8 <= len(p); i += 8 {
		h = (h ^ binary.LittleEndian.Uint64(p[i:])) * 0x100000001b3
	}
	for ; i < len(p); i++ {
		h = (h ^ uint64(p[i])) * 0x100000001b3
	}
	return h
}

func parse(body []byte, payload int) time.Duration {
	t0 := time.Now()
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	total := int64(0)
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		n, err := io.Copy(io.Discard, part)
		if err != nil {
			panic(err)
		}
		total += n
	}
	d := time.Since(t0)
	if total != int64(payload) {
		panic("wrong parse")
	}
	return d
}

func main() {
	reps := 7
	if len(os.Args) > 1 {
		reps, _ = strconv.Atoi(os.Args[1])
	}
	for _, c := range []struct {
		name          string
		nparts, size int
	}{{"big", 1, 1 << 30}, {"parts", 10000, 1024}} {
		body, payload := build(c.nparts, c.size)
		parse(body, payload)
		t := make([]float64, reps)
		for i := range t {
			t[i] = parse(body, payload).Seconds()
		}
		sort.Float64s(t)
		n := float64(len(body))
		fmt.Printf("%s %d %016x go %.3f %.3f\n", c.name, len(body),
			checksum(body), n/t[0]/1e9, n/t[reps/2]/1e9)
	}
}
