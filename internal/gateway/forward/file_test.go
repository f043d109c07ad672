package forward

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

func TestFileSink(t *testing.T) {
	t.Parallel()
	received := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		batches []queue.Batch
		want    []FileLine
	}{
		{
			name: "every record becomes one line carrying its batch id and device",
			batches: []queue.Batch{
				{ID: "01A", Device: "pump-1", Records: 2, Body: []byte("{\"t\":1}\n{\"t\":2}\n"), ReceivedAt: received},
				{ID: "01B", Device: "pump-2", Records: 1, Body: []byte("[1,2,3]")},
			},
			want: []FileLine{
				{BatchID: "01A", Device: "pump-1", ReceivedAt: received, Record: json.RawMessage(`{"t":1}`)},
				{BatchID: "01A", Device: "pump-1", ReceivedAt: received, Record: json.RawMessage(`{"t":2}`)},
				{BatchID: "01B", Device: "pump-2", Record: json.RawMessage(`[1,2,3]`)},
			},
		},
		{
			name:    "a line that is not JSON is kept as text, not lost",
			batches: []queue.Batch{{ID: "01C", Device: "d", Records: 1, Body: []byte("not json <&>\n")}},
			want:    []FileLine{{BatchID: "01C", Device: "d", RecordText: "not json <&>"}},
		},
		{
			name:    "a batch delivered twice appears twice with the same batch id",
			batches: []queue.Batch{{ID: "01D", Device: "d", Body: []byte("1\n")}, {ID: "01D", Device: "d", Body: []byte("1\n")}},
			want:    []FileLine{{BatchID: "01D", Device: "d", Record: json.RawMessage("1")}, {BatchID: "01D", Device: "d", Record: json.RawMessage("1")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sink.ndjson")
			s, err := NewFile(config.ForwardFile{Path: path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tt.batches {
				if err := s.Deliver(context.Background(), b); err != nil {
					t.Fatalf("Deliver: %v", err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			got := readSink(t, path)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.BatchID != w.BatchID || g.Device != w.Device || string(g.Record) != string(w.Record) ||
					g.RecordText != w.RecordText || !g.ReceivedAt.Equal(w.ReceivedAt) {
					t.Errorf("line %d: got %+v, want %+v", i, g, w)
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("sink file mode %o, want 600", perm)
			}
		})
	}
}

func readSink(tb testing.TB, path string) []FileLine {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []FileLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l FileLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("sink line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestFileSinkAppendsAcrossReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sink.ndjson")
	for i, id := range []string{"01A", "01B"} {
		s, err := NewFile(config.ForwardFile{Path: path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), queue.Batch{ID: id, Body: []byte("{}")}); err != nil {
			t.Fatalf("deliver %d: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readSink(t, path); len(got) != 2 || got[0].BatchID != "01A" || got[1].BatchID != "01B" {
		t.Fatalf("reopening the sink lost or reordered lines: %+v", got)
	}
}

func TestFileSinkAfterClose(t *testing.T) {
	t.Parallel()
	s, err := NewFile(config.ForwardFile{Path: filepath.Join(t.TempDir(), "sink")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), queue.Batch{ID: "x", Body: []byte("{}")}); err == nil {
		t.Fatal("Deliver after Close reported success")
	}
}

func TestNewFileRefusesBadPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
	}{
		{name: "an empty path is refused", path: ""},
		{name: "a path in a missing directory is refused", path: filepath.Join(t.TempDir(), "missing", "sink")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFile(config.ForwardFile{Path: tt.path}, nil); err == nil {
				t.Fatal("NewFile accepted the path")
			}
		})
	}
}
