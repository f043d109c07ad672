package collect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/spec"
)

func TestReadConfigReadsTheACLFilesOfAMosquittoConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	acl := write("acl", "pattern read #\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := write("mosquitto.conf", "per_listener_settings true\n"+
		"listener 1883 127.0.0.1\nacl_file acl\n"+ // relative: to the config's folder
		"listener 1884 127.0.0.1\nacl_file "+acl+"\n"+ // the same file, read once
		"listener 1885 127.0.0.1\nacl_file fifo\n")
	co, files, err := readConfig(context.Background(), conf, spec.KindMosquitto)
	if err != nil || co.Err != nil {
		t.Fatal(err, co.Err)
	}
	if len(co.ACLs) != 2 {
		t.Fatalf("acl observations %v, want the acl and the fifo", co.ACLs)
	}
	ps := co.Mosquitto.Postures()
	if a := co.ACLFor(ps[0].ACLFile); a == nil || a.ACL == nil || a.Path != acl || len(a.ACL.Rules) != 1 {
		t.Errorf("the relative acl_file was not read from the config's folder: %+v", a)
	}
	if co.ACLFor(ps[1].ACLFile) != co.ACLFor(ps[0].ACLFile) {
		t.Error("one file named twice was read twice")
	}
	if a := co.ACLFor(ps[2].ACLFile); a == nil || !errors.Is(a.Err, mosquitto.ErrNotRegular) {
		t.Errorf("the FIFO acl_file = %+v, want ErrNotRegular", a)
	}
	if len(files) != 2 || files[1].Path != acl || files[1].Kind != KindMosquittoACL || len(files[1].SHA256) != 64 {
		t.Errorf("config files %+v, want the config and the acl_file with its digest", files)
	}
}
