// Package examples embeds the example configs that hardgate's demo runs, so
// "go run ./cmd/hardgate demo" and an installed binary need no checkout.
package examples

import _ "embed"

// BeforeConfig is examples/gateway-hardening/before/ingestd.yaml: the legacy
// state (plaintext, no auth, unsafe settings allowed and silenced).
//
//go:embed gateway-hardening/before/ingestd.yaml
var BeforeConfig []byte

// AfterConfig is examples/gateway-hardening/after/ingestd.yaml: the hardened
// defaults (HTTPS, bearer tokens, guardrails on).
//
//go:embed gateway-hardening/after/ingestd.yaml
var AfterConfig []byte

// WorkedExample is examples/gateway-hardening/expected.yaml: the figures of
// the worked example that the demo must reproduce.
//
//go:embed gateway-hardening/expected.yaml
var WorkedExample []byte

// Waivers is examples/gateway-hardening/waivers.yaml: the worked example's
// accepted risk (docs/waivers.md).
//
//go:embed gateway-hardening/waivers.yaml
var Waivers []byte
