package scoring

import (
	"testing"

	"github.com/hardgate/hardgate/internal/result"
)

func TestTallyNeverTurnsAnUndecidedOutcomeIntoAPass(t *testing.T) {
	t.Parallel()
	ev := func(s string) result.Evidence { return result.Evidence{Kind: "note", Summary: s} }
	tests := []struct {
		name       string
		record     func(t *Tally)
		want       result.Status
		wantReason string
		firstEv    string
	}{
		{"nothing recorded is not applicable, for the reason given", func(*Tally) {}, result.StatusNotApplicable, "no endpoint", ""},
		{"passes alone pass", func(t *Tally) { t.Pass("a ok", ev("a")); t.Pass("b ok", ev("b")) }, result.StatusPass, "a ok; b ok", "a"},
		{"one undecided among passes is an error", func(t *Tally) { t.Pass("a ok", ev("a")); t.Undecide("b timed out", ev("b")) }, result.StatusError, "could not decide: b timed out", "a"},
		{"one failure beats undecided and passes, its evidence first", func(t *Tally) {
			t.Pass("a ok", ev("a"))
			t.Undecide("b timed out", ev("b"))
			t.Fail("c accepted anyone", ev("c"))
		}, result.StatusFail, "c accepted anyone", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl Tally
			tt.record(&tl)
			v := tl.Verdict("no endpoint")
			if v.Status != tt.want || v.Reason != tt.wantReason {
				t.Fatalf("verdict %s %q, want %s %q", v.Status, v.Reason, tt.want, tt.wantReason)
			}
			if tt.firstEv != "" && (len(v.Evidence) == 0 || v.Evidence[0].Summary != tt.firstEv) {
				t.Errorf("evidence %+v, want %s first", v.Evidence, tt.firstEv)
			}
		})
	}
}
