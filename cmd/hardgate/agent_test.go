package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestAgentCommandRefusesBadFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "--nats and --site are required"},
		{"no site", []string{"--nats", "nats://127.0.0.1:4222"}, "--nats and --site are required"},
		{"a site that is not a subject token", []string{"--nats", "nats://127.0.0.1:4222", "--site", "north.>"}, "--site"},
		{"a zero parallel", []string{"--nats", "nats://127.0.0.1:4222", "--site", "north", "--parallel", "0"}, "--parallel"},
		{"plaintext to another host", []string{"--nats", "nats://nats.example.net:4222", "--site", "north"}, "plaintext NATS"},
		{"a CA file that does not exist", []string{"--nats", "tls://127.0.0.1:4222", "--site", "north", "--ca", "/nonexistent/ca.pem"}, "CA file"},
		{"an argument", []string{"--nats", "nats://127.0.0.1:4222", "--site", "north", "extra"}, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"agent"}, tc.args...), &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

func TestAgentHelpNamesTheContractFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"agent", "--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"--nats URL", "--site NAME", "--creds FILE", "--ca FILE", "--parallel N", "-allow-plaintext"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("help lacks %q", f)
		}
	}
}
