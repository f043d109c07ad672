package demo

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/outfile"
)

// startGateway runs ingestd in-process from the config file at path.
func startGateway(ctx context.Context, path string, opts Options) (func(), config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, cfg, err
	}
	srv, err := server.New(cfg, server.Options{Logger: opts.Logger, Version: opts.ToolVersion})
	if err != nil {
		return nil, cfg, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, cfg, err
	}
	cfg.Listen.HTTP, cfg.Listen.HTTPS = srv.HTTPAddr(), srv.HTTPSAddr()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return stop, cfg, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, so the config file the audit reads names the real port.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes the example config with the given keys replaced,
// keeping its comments and layout, as work/<name>/ingestd.yaml.
func writeConfig(work, name string, example []byte, set map[string]string) (string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(example, &root); err != nil {
		return "", fmt.Errorf("example %s config: %w", name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("example %s config is not a mapping", name)
	}
	// Sorted, so keys the example lacks are appended in the same order on
	// every run and the file (and its sha256 in the result) is stable.
	for _, key := range slices.Sorted(maps.Keys(set)) {
		setKey(root.Content[0], strings.Split(key, "."), set[key])
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return "", fmt.Errorf("render %s config: %w", name, err)
	}
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "ingestd.yaml")
	return path, outfile.Write(path, buf.Bytes())
}

func setKey(m *yaml.Node, path []string, value string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
			return
		}
		if m.Content[i+1].Kind != yaml.MappingNode {
			m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode}
		}
		setKey(m.Content[i+1], path[1:], value)
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		m.Content = append(m.Content, k, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, k, child)
	setKey(child, path[1:], value)
}
