//go:build hardgate_pprof

package main

// A diagnosis build (go build -tags hardgate_pprof), used by
// bench/ingestd/run.sh PPROF=DIR: with INGESTD_PPROF_DIR set, `ingestd run`
// records a CPU profile from its start to its shutdown and writes the
// allocation and heap profiles at shutdown. Release builds carry none of it.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile when INGESTD_PPROF_DIR names a
// directory, and returns the function that stops it and writes the others.
func startProfiles(stderr io.Writer) func() {
	dir := os.Getenv("INGESTD_PPROF_DIR")
	if dir == "" {
		return func() {}
	}
	runtime.MemProfileRate = 64 << 10
	cpu, err := os.OpenFile(filepath.Join(dir, "cpu.pprof"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "ingestd: pprof: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintf(stderr, "ingestd: pprof: %v\n", err)
		_ = cpu.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		for _, name := range []string{"allocs", "heap", "goroutine"} {
			f, err := os.OpenFile(filepath.Join(dir, name+".pprof"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				fmt.Fprintf(stderr, "ingestd: pprof: %v\n", err)
				continue
			}
			_ = pprof.Lookup(name).WriteTo(f, 0)
			_ = f.Close()
		}
	}
}
