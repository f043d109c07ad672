package main

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"net"
	"time"

	"github.com/hardgate/hardgate/bench/internal/nginxfleet"
)

func startNginx(ctx context.Context, work string, ports []int) (stop func(), cpu func() time.Duration, err error) {
	stop, pid, err := nginxfleet.Start(ctx, work, ports, token)
	if err != nil {
		return nil, nil, err
	}
	return stop, func() time.Duration { return treeCPU(pid) }, nil
}

// hostile serves the hostile ports: silent ones hold every connection
// open without a byte; garbage ones answer every connection with random
// bytes that are no TLS record.
type hostile struct {
	silent, garbage []string
	lns             []net.Listener
}

func startHostile(silent, garbage int) *hostile {
	h := &hostile{}
	serve := func(answer func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		h.lns = append(h.lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go answer(c)
			}
		}()
		return ln.Addr().String()
	}
	for range silent {
		h.silent = append(h.silent, serve(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }))
	}
	for range garbage {
		h.garbage = append(h.garbage, serve(func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 4096)
			_, _ = rand.Read(buf)
			buf[0] = 0x42 // never a TLS content type
			_, _ = c.Write(buf)
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
		}))
	}
	return h
}

func (h *hostile) close() {
	for _, ln := range h.lns {
		ln.Close()
	}
}
