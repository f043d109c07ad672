//go:build linux && !arm && !386

package lazyfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hardgate/hardgate/internal/interop"
)

// mount mounts a lazy view of backing on a new directory.
func mount(t *testing.T, backing string, hook func(Event)) (*FS, string) {
	t.Helper()
	Require(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := Mount(Options{Backing: backing, Mountpoint: mnt, Hook: hook})
	if err != nil {
		interop.Skip(t, "cannot mount FUSE: "+err.Error())
	}
	t.Cleanup(func() { _, _ = f.Cut() }) // does nothing after the test's own Cut
	return f, mnt
}

// tree lists the backing directory: file name → content, directory name → "<dir>".
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[rel] = "<dir>"
			return nil
		}
		data, err := os.ReadFile(p)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeFile writes content at off (creating the file), fsyncing it when sync is set.
func writeFile(t *testing.T, path string, off int64, content string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	must(t, err)
	defer f.Close()
	_, err = f.WriteAt([]byte(content), off)
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	must(t, err)
	defer d.Close()
	must(t, d.Sync())
}

func truncate(t *testing.T, path string, size int64, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	must(t, f.Truncate(size))
	if sync {
		must(t, f.Sync())
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	return string(data)
}

func TestPowerCutKeepsOnlyWhatWasSynced(t *testing.T) {
	a8k := strings.Repeat("a", 8192)
	tests := []struct {
		name   string
		before map[string]string            // durable before the mount
		run    func(t *testing.T, m string) // on the mount
		seen   map[string]string            // read through the mount before the cut
		after  map[string]string            // the backing directory after the cut
	}{
		{
			name:   "a write without fsync is lost",
			before: map[string]string{"f": "old"},
			run:    func(t *testing.T, m string) { writeFile(t, m+"/f", 0, "new data", false) },
			seen:   map[string]string{"f": "new data"},
			after:  map[string]string{"f": "old"},
		},
		{
			name:   "a write with fsync is kept, the write after it is lost",
			before: map[string]string{"f": ""},
			run: func(t *testing.T, m string) {
				writeFile(t, m+"/f", 0, "synced", true)
				writeFile(t, m+"/f", 6, "+unsynced", false)
			},
			seen:  map[string]string{"f": "synced+unsynced"},
			after: map[string]string{"f": "synced"},
		},
		{
			name:   "an fsync through one descriptor makes another's writes durable",
			before: map[string]string{"f": ""},
			run: func(t *testing.T, m string) {
				a, err := os.OpenFile(m+"/f", os.O_RDWR, 0)
				must(t, err)
				defer a.Close()
				b, err := os.OpenFile(m+"/f", os.O_RDWR, 0)
				must(t, err)
				defer b.Close()
				_, err = a.WriteAt([]byte("from a"), 0)
				must(t, err)
				must(t, b.Sync())
			},
			seen:  map[string]string{"f": "from a"},
			after: map[string]string{"f": "from a"},
		},
		{
			name:   "a truncation without fsync is lost",
			before: map[string]string{"f": a8k},
			run:    func(t *testing.T, m string) { truncate(t, m+"/f", 100, false) },
			seen:   map[string]string{"f": a8k[:100]},
			after:  map[string]string{"f": a8k},
		},
		{
			name:   "a synced truncation is kept, a later extension is lost",
			before: map[string]string{"f": a8k},
			run: func(t *testing.T, m string) {
				truncate(t, m+"/f", 100, true)
				truncate(t, m+"/f", 5000, false)
			},
			seen:  map[string]string{"f": a8k[:100] + strings.Repeat("\x00", 4900)},
			after: map[string]string{"f": a8k[:100]},
		},
		{
			name:   "bytes cut off and written past read as zeros, not as the old data",
			before: map[string]string{"f": a8k},
			run: func(t *testing.T, m string) {
				truncate(t, m+"/f", 10, false)
				writeFile(t, m+"/f", 6000, "b", true)
			},
			seen:  map[string]string{"f": a8k[:10] + strings.Repeat("\x00", 5990) + "b"},
			after: map[string]string{"f": a8k[:10] + strings.Repeat("\x00", 5990) + "b"},
		},
		{
			name:   "a rename without a directory fsync is undone",
			before: map[string]string{"a": "A", "b": "B"},
			run:    func(t *testing.T, m string) { must(t, os.Rename(m+"/a", m+"/b")) },
			seen:   map[string]string{"b": "A"},
			after:  map[string]string{"a": "A", "b": "B"},
		},
		{
			name:   "a rename followed by a directory fsync is kept",
			before: map[string]string{"a": "A", "b": "B"},
			run: func(t *testing.T, m string) {
				must(t, os.Rename(m+"/a", m+"/b"))
				syncDir(t, m)
			},
			seen:  map[string]string{"b": "A"},
			after: map[string]string{"b": "A"},
		},
		{
			name:   "a created and fsynced file without a directory fsync is lost",
			before: map[string]string{},
			run:    func(t *testing.T, m string) { writeFile(t, m+"/new", 0, "data", true) },
			seen:   map[string]string{"new": "data"},
			after:  map[string]string{},
		},
		{
			name:   "a created file kept by a directory fsync keeps only its synced data",
			before: map[string]string{},
			run: func(t *testing.T, m string) {
				writeFile(t, m+"/new", 0, "data", false)
				syncDir(t, m)
			},
			seen:  map[string]string{"new": "data"},
			after: map[string]string{"new": ""},
		},
		{
			name:   "unlink, mkdir and rmdir without a directory fsync are undone",
			before: map[string]string{"f": "F", "d": "<dir>"},
			run: func(t *testing.T, m string) {
				must(t, os.Remove(m+"/f"))
				must(t, os.Remove(m+"/d"))
				must(t, os.Mkdir(m+"/e", 0o700))
				writeFile(t, m+"/e/g", 0, "G", true)
			},
			seen:  map[string]string{"e": "<dir>", "e/g": "G"},
			after: map[string]string{"f": "F", "d": "<dir>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backing := filepath.Join(t.TempDir(), "backing")
			must(t, os.Mkdir(backing, 0o700))
			for name, content := range tt.before {
				if content == "<dir>" {
					must(t, os.Mkdir(filepath.Join(backing, name), 0o700))
				} else {
					must(t, os.WriteFile(filepath.Join(backing, name), []byte(content), 0o600))
				}
			}
			f, m := mount(t, backing, nil)
			tt.run(t, m)
			if got := tree(t, m); !equal(got, tt.seen) {
				t.Errorf("through the mount before the cut: got %q, want %q", got, tt.seen)
			}
			if _, err := f.Cut(); err != nil {
				t.Fatal(err)
			}
			if got := tree(t, backing); !equal(got, tt.after) {
				t.Errorf("backing directory after the cut: got %q, want %q", got, tt.after)
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRemountAfterACutServesTheDurableState(t *testing.T) {
	backing := filepath.Join(t.TempDir(), "backing")
	must(t, os.Mkdir(backing, 0o700))
	f, m := mount(t, backing, nil)
	writeFile(t, m+"/f", 0, "one", true)
	syncDir(t, m)
	writeFile(t, m+"/f", 3, " two", false)
	st, err := f.Cut()
	must(t, err)
	if st.LostFiles != 1 || st.LostBytes != pageSize || st.Fsyncs != 1 || st.DirFsyncs != 1 {
		t.Errorf("cut stats: %+v, want 1 file and one page lost after 1 fsync and 1 directory fsync", st)
	}
	f2, m2 := mount(t, backing, nil)
	if got := read(t, m2+"/f"); got != "one" {
		t.Errorf("after remount: %q, want %q", got, "one")
	}
	writeFile(t, m2+"/f", 3, " three", false)
	must(t, f2.Unmount()) // a clean shutdown writes everything
	if got := read(t, backing+"/f"); got != "one three" {
		t.Errorf("after a clean unmount: %q, want %q", got, "one three")
	}
}

func TestFreezeFailsEveryLaterOperation(t *testing.T) {
	backing := filepath.Join(t.TempDir(), "backing")
	must(t, os.Mkdir(backing, 0o700))
	var mu sync.Mutex
	var seen []Event
	var f *FS
	f, m := mount(t, backing, func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, e)
		if e.Op == OpWrite && e.Off == 5 {
			f.Freeze() // the power fails just before this write
		}
	})
	h, err := os.OpenFile(m+"/f", os.O_RDWR|os.O_CREATE, 0o600)
	must(t, err)
	defer h.Close()
	_, err = h.WriteAt([]byte("first"), 0)
	must(t, err)
	must(t, h.Sync())
	if _, err := h.WriteAt([]byte("second"), 5); !errors.Is(err, syscall.EIO) {
		t.Errorf("write after the freeze: %v, want EIO", err)
	}
	if err := h.Sync(); !errors.Is(err, syscall.EIO) {
		t.Errorf("fsync after the freeze: %v, want EIO", err)
	}
	must(t, h.Close())
	if _, err := f.Cut(); err != nil {
		t.Fatal(err)
	}
	// The create was never committed by a directory fsync: the file is gone.
	if got := tree(t, backing); len(got) != 0 {
		t.Errorf("backing after the cut: %q, want empty", got)
	}
	mu.Lock()
	defer mu.Unlock()
	var ops []string
	for _, e := range seen {
		ops = append(ops, string(e.Op)+" "+e.Path)
	}
	if want := "create f,write f,fsync f,write f"; strings.Join(ops, ",") != want {
		t.Errorf("hook saw %q, want %q", strings.Join(ops, ","), want)
	}
}

func TestMountRefusesALeftoverTrashDirectory(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "backing"), 0o700))
	must(t, os.Mkdir(filepath.Join(dir, ".backing.lazyfs-trash"), 0o700))
	_, err := Mount(Options{Backing: filepath.Join(dir, "backing"), Mountpoint: dir})
	if err == nil || !strings.Contains(err.Error(), "trash") {
		t.Fatalf("Mount: %v, want an error naming the trash directory", err)
	}
}
