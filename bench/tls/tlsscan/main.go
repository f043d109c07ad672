// Command tlsscan runs the hardgate TLS scan (package tlsscan) alone against
// one endpoint and prints the report; bench/tls/run.sh times it against
// sslscan, nmap and testssl.sh.
//
//	go run ./bench/tls/tlsscan -addr 127.0.0.1:8443 -ca ca.pem
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hardgate/hardgate/internal/probe/tlsscan"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tlsscan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "host:port to scan (loopback only in benchmarks)")
	name := fs.String("servername", "", "SNI and name to verify (default: host of -addr)")
	ca := fs.String("ca", "", "PEM CA file to verify the chain with")
	asJSON := fs.Bool("json", false, "print the whole report as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "deadline per handshake")
	par := fs.Int("parallel", 8, "concurrent handshakes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := tlsscan.DefaultConfig(*addr)
	cfg.ServerName = *name
	cfg.HandshakeTimeout = *timeout
	cfg.Parallelism = *par
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fmt.Fprintf(stderr, "tlsscan: read CA file: %v\n", err)
			return 2
		}
		cfg.Roots = x509.NewCertPool()
		if !cfg.Roots.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "tlsscan: %s holds no PEM certificate\n", *ca)
			return 2
		}
	}
	rep, err := tlsscan.Scan(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tlsscan: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 2
		}
	} else {
		fmt.Fprintln(stdout, rep.Summary())
		for _, a := range rep.Accepted() {
			extra := ""
			if a.DHBits > 0 {
				extra = fmt.Sprintf(" DH %d bits", a.DHBits)
			}
			if a.Curve != "" {
				extra = " curve " + a.Curve
			}
			fmt.Fprintf(stdout, "  %-8s 0x%04X %s%s\n", a.Version, a.Suite.ID, a.Suite.Name(), extra)
		}
		for _, p := range rep.Protocols {
			if p.Preference != "" {
				fmt.Fprintf(stdout, "  %v order: %s\n", p.Version, p.Preference)
			}
		}
		for _, g := range rep.Groups {
			fmt.Fprintf(stdout, "  %v groups: %v %s\n", g.Version, g.Groups, g.Error)
		}
		c := rep.Certificate
		fmt.Fprintf(stdout, "  cert: trusted=%v (%s) self-signed=%v expired=%v days=%d san=%v host=%v key=%s-%d sig=%s ocsp=%v %s\n",
			c.Trusted, c.VerifyError, c.SelfSigned, c.Expired, c.DaysLeft, c.HasSAN, c.HostnameMatch, c.KeyType, c.KeyBits, c.SignatureAlgorithm, c.OCSPStapled, c.Error)
		fmt.Fprintf(stdout, "  scan took %v\n", rep.Duration.Round(time.Millisecond))
	}
	if err := rep.Complete(); err != nil {
		fmt.Fprintf(stderr, "tlsscan: %v\n", err)
		return 3
	}
	return 0
}
