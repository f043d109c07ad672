package waiver_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/waiver"
)

// day is the injected clock of these tests: the morning of the worked
// example's before audit.
var day = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

const goodFile = `# accepted risks of the plant
waivers:
  - control: transport_tls.weak_cipher_suites
    targets: [gw-0007]
    match: "TLSv1.2 AES128-SHA"
    justification: "legacy sensor fleet S7 needs CBC until replacement (ticket OPS-412)"
    owner: "platform team"
    expires: 2026-03-31

  - control: mqtt_broker.sys_topics_exposed
    labels: {site: plant-1}
    justification: "the plant's monitoring reads $SYS until the exporter lands"
    owner: ops
    expires: "2026-06-30"
`

func TestParseReadsAWaiversFile(t *testing.T) {
	f, err := waiver.Parse(strings.NewReader(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Waivers) != 2 {
		t.Fatalf("%d waivers, want 2", len(f.Waivers))
	}
	w := f.Waivers[0]
	if w.Control != "transport_tls.weak_cipher_suites" || w.Targets[0] != "gw-0007" || w.Match != "TLSv1.2 AES128-SHA" ||
		w.Owner != "platform team" || w.Expires.String() != "2026-03-31" || w.Line != 3 {
		t.Errorf("first waiver %+v (line %d)", w, w.Line)
	}
	if f.Waivers[1].Labels["site"] != "plant-1" || f.Waivers[1].Expires.String() != "2026-06-30" || f.Waivers[1].Line != 10 {
		t.Errorf("second waiver %+v", f.Waivers[1])
	}
	if err := f.Validate(waiver.Options{Now: day}); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"an empty file", "", "empty"},
		{"a file of comments only", "# nothing\n", "empty"},
		{"a top-level list", "- control: a.b\n", "top level must be a mapping"},
		{"an unknown top-level key", "waivers: []\nexceptions: []\n", "field exceptions not found"},
		{"an unknown waiver key", "waivers:\n  - control: a.b\n    reason: x\n", "field reason not found"},
		{"waivers that are not a list", "waivers: {control: a.b}\n", "cannot unmarshal"},
		{"a missing waivers key", "other: 1\n", "field other not found"},
		{"waivers: null", "waivers:\n", "must be a list"},
		{"two YAML documents", "waivers: []\n---\nwaivers: []\n", "more than one YAML document"},
		{"a date with a time", "waivers:\n  - expires: 2026-03-31T10:00:00Z\n", "not a date"},
		{"a date that does not exist", "waivers:\n  - expires: 2026-02-30\n", "not a date"},
		{"a date as a list", "waivers:\n  - expires: [2026-03-31]\n", "must be a date"},
		{"targets as a string", "waivers:\n  - targets: gw-1\n", "cannot unmarshal"},
		{"labels as a list", "waivers:\n  - labels: [site]\n", "cannot unmarshal"},
		{"a duplicate key", "waivers:\n  - control: a.b\n    control: c.d\n", "already defined"},
		{"YAML that does not parse", "waivers: [\n", "parse waivers"},
		{"a file over the size cap", "waivers: []\n#" + strings.Repeat("x", waiver.MaxBytes), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := waiver.Parse(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestValidateNamesTheFieldAndTheValue(t *testing.T) {
	known := func(id string) bool { return id == "transport_tls.weak_cipher_suites" }
	base := "  - control: transport_tls.weak_cipher_suites\n    targets: [gw-1]\n    justification: j\n    owner: o\n    expires: 2026-03-31\n"
	tests := []struct {
		name, waiver, field, want string
		maxAhead                  time.Duration
	}{
		{"a missing control", strings.Replace(base, "control: transport_tls.weak_cipher_suites", "match: x", 1), "waivers[0].control", "is required", 0},
		{"a control id of the wrong shape", strings.Replace(base, "transport_tls.weak_cipher_suites", "Weak Ciphers", 1), "waivers[0].control", "family.name", 0},
		{"an unknown control", strings.Replace(base, "weak_cipher_suites", "weak_ciphers", 1), "waivers[0].control", "not a control of the catalog", 0},
		{"no selector", strings.Replace(base, "    targets: [gw-1]\n", "", 1), "waivers[0].targets", "one selector is required", 0},
		{"an empty target name", strings.Replace(base, "[gw-1]", `[""]`, 1), "waivers[0].targets[0]", "target name", 0},
		{"an empty label value", strings.Replace(base, "targets: [gw-1]", "labels: {site: \"\"}", 1), "waivers[0].labels.site", "must not be empty", 0},
		{"a blank match", base + "    match: \"  \"\n", "waivers[0].match", "must not be blank", 0},
		{"a missing justification", strings.Replace(base, "    justification: j\n", "", 1), "waivers[0].justification", "is required", 0},
		{"a blank owner", strings.Replace(base, "owner: o", `owner: " "`, 1), "waivers[0].owner", "is required", 0},
		{"a missing expiry", strings.Replace(base, "    expires: 2026-03-31\n", "", 1), "waivers[0].expires", "is required", 0},
		{"an expiry more than a year ahead", strings.Replace(base, "2026-03-31", "2027-01-16", 1), "waivers[0].expires", "more than 365 days ahead", 0},
		{"an expiry beyond a configured maximum of 30 days", base, "waivers[0].expires", "more than 30 days ahead", 30 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			f, err := waiver.Parse(strings.NewReader("waivers:\n" + tc.waiver))
			if err != nil {
				t.Fatal(err)
			}
			err = f.Validate(waiver.Options{Now: day, MaxAhead: tc.maxAhead, Known: known})
			var fe *waiver.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != tc.field || !strings.Contains(err.Error(), tc.want) || fe.Line != 2 {
				t.Fatalf("err = %v (field %s, line %d), want field %s at line 2 mentioning %q", err, fe.Field, fe.Line, tc.field, tc.want)
			}
		})
	}
	t.Run("an expiry exactly a year ahead and one already passed are accepted", func(t *testing.T) {
		for _, date := range []string{"2027-01-15", "2025-12-31"} {
			f, _ := waiver.Parse(strings.NewReader("waivers:\n" + strings.Replace(base, "2026-03-31", date, 1)))
			if err := f.Validate(waiver.Options{Now: day, Known: known}); err != nil {
				t.Errorf("%s: %v", date, err)
			}
		}
	})
	t.Run("every problem is reported, not only the first", func(t *testing.T) {
		f, _ := waiver.Parse(strings.NewReader("waivers:\n  - control: x.y\n  - owner: o\n"))
		err := f.Validate(waiver.Options{Now: day, Known: known})
		for _, want := range []string{"waivers[0].control", "waivers[0].owner", "waivers[1].control", "waivers[1].expires"} {
			if err == nil || !strings.Contains(err.Error(), want+" (line") {
				t.Errorf("err = %v, want it to name %s", err, want)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("waivers: []\n"))
	f.Add([]byte("waivers:\n  - expires: 2026-02-30\n"))
	f.Add([]byte("waivers:\n  - labels: {a: b}\n    targets: [x, y]\n    match: \"\\x00\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, err := waiver.Parse(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		if wf.Waivers == nil {
			t.Fatal("a parsed file has a nil waiver list")
		}
		err = wf.Validate(waiver.Options{Now: day})
		if err == nil {
			for _, w := range wf.Waivers {
				if w.Expires.IsZero() || strings.TrimSpace(w.Owner) == "" || (len(w.Targets) == 0 && len(w.Labels) == 0) {
					t.Fatalf("Validate accepted an incomplete waiver %+v", w)
				}
			}
		}
	})
}
