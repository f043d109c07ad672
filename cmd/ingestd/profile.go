//go:build !hardgate_pprof

package main

import "io"

// startProfiles does nothing in a release build; see profile_pprof.go.
func startProfiles(io.Writer) func() { return func() {} }
