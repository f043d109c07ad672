package controls

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

const tlsNotApplicable = "the target names no TLS endpoint (no https ingest URL, no tls.addresses)"

// tlsEvidence wraps a scan as evidence listing the given pairs.
func tlsEvidence(ep *collect.TLSObservation, summary string, accepted []string, detail string) result.Evidence {
	var ev result.TLSEvidence
	if ep.Report != nil {
		ev = ep.Report.Evidence(accepted, detail)
	} else {
		ev = result.TLSEvidence{Address: ep.Address, Detail: detail}
	}
	if accepted != nil {
		ev.Accepted = accepted
	}
	return result.Evidence{Kind: "tls", Summary: summary, TLS: &ev}
}

// scanFailed records an endpoint whose scan could not run as undecided.
func scanFailed(t *scoring.Tally, ep *collect.TLSObservation) {
	t.Undecide(fmt.Sprintf("%s: scan failed: %v", ep.Address, ep.Err), tlsEvidence(ep, "scan failed", nil, errText(ep.Err)))
}

// suiteControl judges a control over accepted (version, suite) pairs: bad
// selects the failing pairs; relevant says which versions must have been
// enumerated completely for a pass.
func suiteControl(o *collect.Observations, bad func(tlsscan.AcceptedSuite) (string, bool), relevant func(tlsscan.Version) bool, what string) scoring.Verdict {
	var t scoring.Tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		if ep.Report == nil {
			scanFailed(&t, ep)
			continue
		}
		var pairs, reasons []string
		for _, a := range ep.Report.Accepted() {
			if why, isBad := bad(a); isBad {
				pairs = append(pairs, a.String())
				if why != "" {
					reasons = append(reasons, a.String()+" ("+why+")")
				}
			}
		}
		var unfinished []string
		for _, p := range ep.Report.Protocols {
			if p.Error != "" && relevant(p.Version) {
				unfinished = append(unfinished, p.Error)
			}
		}
		all := ep.Report.AcceptedWhere(nil)
		switch {
		case len(pairs) > 0:
			detail := strings.Join(reasons, "; ")
			t.Fail(fmt.Sprintf("%s accepts %d %s: %s", ep.Address, len(pairs), what, brief(pairs)),
				tlsEvidence(ep, fmt.Sprintf("%d of %d accepted pairs are %s", len(pairs), len(all), what), pairs, detail))
		case len(unfinished) > 0:
			t.Undecide(fmt.Sprintf("%s: %s", ep.Address, strings.Join(unfinished, "; ")),
				tlsEvidence(ep, "enumeration incomplete", all, strings.Join(unfinished, "; ")))
		case len(all) == 0:
			t.Undecide(ep.Address+" completed no handshake at any version, so nothing could be judged",
				tlsEvidence(ep, "no handshake completed", []string{}, ""))
		default:
			t.Pass(fmt.Sprintf("%s accepts no %s (%d pairs checked)", ep.Address, what, len(all)),
				tlsEvidence(ep, fmt.Sprintf("all %d accepted pairs", len(all)), all, ""))
		}
	}
	return t.Verdict(tlsNotApplicable)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func anyVersion(tlsscan.Version) bool { return true }

func evalLegacyProtocol(o *collect.Observations, c *catalog.Control) scoring.Verdict {
	legacy := legacyVersions(c)
	isLegacy := func(v tlsscan.Version) bool { return slices.Contains(legacy, v) }
	return suiteControl(o, func(a tlsscan.AcceptedSuite) (string, bool) {
		return "", isLegacy(a.Version)
	}, isLegacy, "pairs at a legacy protocol version")
}

func evalWeakCipherSuites(o *collect.Observations, c *catalog.Control) scoring.Verdict {
	weak := c.List(paramWeakProperties)
	return suiteControl(o, func(a tlsscan.AcceptedSuite) (string, bool) {
		w := weaknesses(a.Suite, weak)
		return strings.Join(w, ", "), len(w) > 0
	}, anyVersion, "weak suites")
}

func evalNoForwardSecrecy(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	return suiteControl(o, func(a tlsscan.AcceptedSuite) (string, bool) {
		return "key exchange " + a.Suite.Kx, !a.Suite.ForwardSecret()
	}, anyVersion, "suites without forward secrecy")
}

// groupBar is the weak_dh_group thresholds.
type groupBar struct{ minDH, minEC int }

// weak reports whether a key exchange group is below the bar: a
// finite-field group under minDH bits, or an elliptic curve under minEC.
func (b groupBar) weak(g tlsscan.Group) bool {
	if strings.HasPrefix(g.Name, "ffdhe") {
		return g.Bits < b.minDH
	}
	return g.Bits > 0 && g.Bits < b.minEC
}

// dhFacts sorts one endpoint's key exchanges: the weak ones, the ones not
// read, and every DHE one.
type dhFacts struct{ weak, weakOffered, unread, kx []string }

func readDH(r *tlsscan.Report, bar groupBar) dhFacts {
	var f dhFacts
	for _, a := range r.Accepted() {
		switch {
		case a.Error != "":
			f.unread = append(f.unread, a.String()+": "+a.Error)
		case a.DHBits > 0:
			f.kx = append(f.kx, fmt.Sprintf("%s (DH %d bits)", a, a.DHBits))
			if a.DHBits < bar.minDH {
				f.weak = append(f.weak, fmt.Sprintf("%s (DH %d bits)", a, a.DHBits))
			}
		case a.Curve != "":
			if g, ok := tlsscan.GroupByName(a.Curve); ok && bar.weak(g) {
				f.weak = append(f.weak, fmt.Sprintf("%s (curve %s, %d bits)", a, a.Curve, g.Bits))
			}
		}
	}
	// Groups the server accepts but did not pick for a suite above are
	// weak all the same: a client that offers only them gets them.
	for _, gr := range r.Groups {
		if gr.Error != "" {
			f.unread = append(f.unread, fmt.Sprintf("%s groups: %s", gr.Version, gr.Error))
			continue
		}
		for _, g := range gr.Groups {
			if bar.weak(g) {
				f.weakOffered = append(f.weakOffered, fmt.Sprintf("%s accepts group %s (%d bits)", gr.Version, g.Name, g.Bits))
			}
		}
	}
	return f
}

func evalWeakDHGroup(o *collect.Observations, c *catalog.Control) scoring.Verdict {
	bar := groupBar{minDH: c.Int(paramMinDHBits), minEC: c.Int(paramMinECBits)}
	var t scoring.Tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		if ep.Report == nil {
			scanFailed(&t, ep)
			continue
		}
		f := readDH(ep.Report, bar)
		errs := ep.Report.ProtocolErrors()
		switch {
		case len(f.weak) > 0 || len(f.weakOffered) > 0:
			all := append(slices.Clone(f.weak), f.weakOffered...)
			t.Fail(fmt.Sprintf("%s: weak key exchange groups: %s", ep.Address, brief(all)),
				tlsEvidence(ep, "weak key exchange groups", pairsOf(f.weak), strings.Join(all, "; ")))
		case len(f.unread) > 0 || len(errs) > 0:
			why := strings.Join(append(f.unread, errs...), "; ")
			t.Undecide(fmt.Sprintf("%s: %s", ep.Address, why), tlsEvidence(ep, "key exchange parameters not read", nil, why))
		case len(f.kx) == 0:
			t.Pass(fmt.Sprintf("%s accepts no DHE suite; ECDHE curves are at least %d bits", ep.Address, bar.minEC), tlsEvidence(ep, "no DHE suite", nil, ""))
		default:
			t.Pass(fmt.Sprintf("%s: every DHE group is at least %d bits", ep.Address, bar.minDH), tlsEvidence(ep, "DHE groups", pairsOf(f.kx), strings.Join(f.kx, "; ")))
		}
	}
	return t.Verdict(tlsNotApplicable)
}

// briefMax is how many items a reason names before "and N more"; the
// evidence always lists every one.
const briefMax = 4

func brief(items []string) string {
	if len(items) <= briefMax {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more (every pair is in the evidence)", strings.Join(items[:briefMax], ", "), len(items)-briefMax)
}

// pairsOf strips the "(...)" annotations to leave "TLSv1.2 SUITE" pairs.
func pairsOf(annotated []string) []string {
	out := make([]string, 0, len(annotated))
	for _, s := range annotated {
		pair, _, _ := strings.Cut(s, " (")
		out = append(out, pair)
	}
	return slices.Compact(out)
}

func evalTLS13NotSupported(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		if ep.Report == nil {
			scanFailed(&t, ep)
			continue
		}
		p := ep.Report.Protocol(tlsscan.VersionTLS13)
		pairs := ep.Report.AcceptedWhere(func(a tlsscan.AcceptedSuite) bool { return a.Version == tlsscan.VersionTLS13 })
		switch {
		case p != nil && p.Supported:
			t.Pass(fmt.Sprintf("%s accepts TLS 1.3 (%d suites)", ep.Address, len(pairs)), tlsEvidence(ep, "TLS 1.3 suites", pairs, ""))
		case p == nil || p.Error != "":
			why := "TLS 1.3 was not probed"
			if p != nil {
				why = p.Error
			}
			t.Undecide(ep.Address+": "+why, tlsEvidence(ep, "TLS 1.3 undecided", []string{}, why))
		default:
			t.Fail(ep.Address+" refuses every TLS 1.3 handshake", tlsEvidence(ep, "no TLS 1.3 suite accepted", []string{}, "accepted pairs: "+strings.Join(ep.Report.AcceptedWhere(nil), ", ")))
		}
	}
	return t.Verdict(tlsNotApplicable)
}
