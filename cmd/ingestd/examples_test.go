package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
)

func loadExample(t *testing.T, rel string) config.Config {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := config.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return cfg
}

func TestShippedConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   string
		unsafe []string
	}{
		{"the before example is the legacy state, every unsafe setting allowed by name", "examples/gateway-hardening/before/ingestd.yaml",
			[]string{config.UnsafeAuthNone, config.UnsafePlaintextListener, config.UnsafeSilenceAnnouncement}},
		{"the after example has nothing unsafe", "examples/gateway-hardening/after/ingestd.yaml", nil},
		{"the Raspberry Pi sample has nothing unsafe", "deploy/raspberry-pi/ingestd.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadExample(t, tt.file)
			var names []string
			for _, u := range cfg.UnsafeSettings(nil) {
				names = append(names, u.Name)
				if !u.Allowed {
					t.Errorf("%s is not allowed", u.Name)
				}
			}
			if !slices.Equal(names, tt.unsafe) {
				t.Errorf("unsafe settings %v, want %v", names, tt.unsafe)
			}
		})
	}
	t.Run("the before example starts without certificates or tokens", func(t *testing.T) {
		cfg := loadExample(t, "examples/gateway-hardening/before/ingestd.yaml")
		cfg.Store.Dir = t.TempDir()
		if _, err := server.New(cfg, server.Options{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSystemdUnitIsHardened(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "ingestd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"User=ingestd", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=\n", "StateDirectory=ingestd", "ExecReload=/bin/kill -HUP $MAINPID",
		"RestartPreventExitStatus=2", "check-config",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("unit lacks %q", strings.TrimSpace(want))
		}
	}
}
