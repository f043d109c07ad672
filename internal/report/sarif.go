package report

import (
	"encoding/json"
	"github.com/hardgate/hardgate/internal/result"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
)

// SARIFSchemaURI is written as the $schema of every SARIF log.
const SARIFSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool         `json:"tool"`
	AutomationDetails *sarifAutomation  `json:"automationDetails,omitempty"`
	Invocations       []sarifInvocation `json:"invocations"`
	Artifacts         []sarifArtifact   `json:"artifacts,omitempty"`
	Results           []sarifResult     `json:"results"`
	Properties        map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	SemanticVer    string      `json:"semanticVersion,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	StartTimeUTC        string `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
}

type sarifArtifact struct {
	Location sarifAL           `json:"location"`
	Hashes   map[string]string `json:"hashes,omitempty"`
	Roles    []string          `json:"roles,omitempty"`
}

type sarifAL struct {
	URI string `json:"uri"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Kind                string             `json:"kind"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

// sarifSuppression records that a result is an accepted risk: a waiver,
// kept outside the analysed files (kind external). It leaves out the
// suppression's status: the final 2.1.0 schema names that property
// "status" and the committee draft "state", and a waiver is accepted by
// being applied at all.
type sarifSuppression struct {
	Kind          string         `json:"kind"`
	Justification string         `json:"justification"`
	Properties    map[string]any `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifAL      `json:"artifactLocation"`
	Region           *sarifRegion `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

// SARIFLevel maps a severity to a SARIF level: critical and high are
// errors, medium a warning, low and info notes.
func SARIFLevel(severity string) string {
	switch strings.ToLower(severity) {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// securitySeverity is the numeric score code-scanning services sort by.
func securitySeverity(severity string) string {
	switch strings.ToLower(severity) {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	case "low":
		return "3.0"
	}
	return "0.0"
}

// renderSARIF writes a SARIF 2.1.0 log: one rule per control, one result
// per finding (kind fail) and per undecided control (kind open). Config
// evidence becomes a physical location with file and line; HTTP, TLS,
// MQTT and TCP evidence a logical location named by its URL or address.
func renderSARIF(w io.Writer, res *result.Result, opts RenderOptions) error {
	controls := sortedControls(res)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: nonEmpty(res.Tool.Name, "hardgate"), Version: res.Tool.Version, Rules: []sarifRule{}}},
		Invocations: []sarifInvocation{{
			ExecutionSuccessful: true,
			StartTimeUTC:        sarifTime(res.StartedAt),
			EndTimeUTC:          sarifTime(res.FinishedAt),
		}},
		Results: []sarifResult{},
		Properties: map[string]any{
			"auditId": res.AuditID, "target": res.Target.Name, "status": res.Summary.Status,
			"posture": res.Summary.Posture, "riskScore": res.Summary.RiskScore,
		},
	}
	if res.AuditID != "" {
		run.AutomationDetails = &sarifAutomation{ID: "hardgate/" + res.Target.Name + "/" + res.AuditID}
	}
	for _, cf := range res.Target.ConfigFiles {
		a := sarifArtifact{Location: sarifAL{URI: fileURI(cf.Path)}, Roles: []string{"analysisTarget"}}
		if cf.SHA256 != "" {
			a.Hashes = map[string]string{"sha-256": cf.SHA256}
		}
		run.Artifacts = append(run.Artifacts, a)
	}
	index := map[string]int{}
	for i, c := range controls {
		index[c.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleFor(res, c, opts))
	}
	for _, f := range append(sortedFindings(res), sortedWaived(res)...) {
		i, ok := index[f.ID]
		if !ok {
			continue // a finding without its control: the result is inconsistent; the rule list is the source
		}
		run.Results = append(run.Results, sarifFinding(res, f, i))
	}
	for _, c := range controls {
		if c.Status != result.StatusError {
			continue
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: c.ID, RuleIndex: index[c.ID], Kind: "open", Level: "none",
			Message:             sarifText{Text: "Could not decide: " + nonEmpty(oneLine(c.Reason), "no reason given")},
			Locations:           sarifLocations(c.Evidence),
			PartialFingerprints: map[string]string{"hardgateControl/v1": res.Target.Name + "/" + c.ID},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: SARIFSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}})
}

// sarifFinding is the result of one finding; a waived one carries its
// waiver as an accepted external suppression.
func sarifFinding(res *result.Result, f result.Finding, ruleIndex int) sarifResult {
	msg := "Not met: " + oneLine(f.Title)
	if f.Reason != "" {
		msg = strings.TrimSuffix(oneLine(f.Reason), ".") + ". Expected: " + oneLine(f.Title)
	}
	r := sarifResult{
		RuleID: f.ID, RuleIndex: ruleIndex, Kind: "fail", Level: SARIFLevel(f.Severity),
		Message:             sarifText{Text: msg},
		Locations:           anchorToConfig(sarifLocations(f.Evidence), res.Target.ConfigFiles),
		PartialFingerprints: map[string]string{"hardgateControl/v1": res.Target.Name + "/" + f.ID},
		Properties:          map[string]any{"severity": f.Severity, "domains": f.Domains},
	}
	if w := f.Waiver; w != nil {
		r.Suppressions = []sarifSuppression{{
			Kind: "external", Justification: nonEmpty(oneLine(w.Justification), "waived"),
			Properties: map[string]any{"owner": w.Owner, "expires": w.Expires},
		}}
	}
	return r
}

// sarifRuleFor is the rule of one control: its reference text from the
// catalog (opts.Docs) or, for a finding, from the result itself.
func sarifRuleFor(res *result.Result, c result.ControlResult, opts RenderOptions) sarifRule {
	rule := sarifRule{
		ID:                   c.ID,
		Name:                 ruleName(c.ID),
		ShortDescription:     sarifText{Text: nonEmpty(oneLine(c.Title), c.ID)},
		FullDescription:      sarifText{Text: nonEmpty(oneLine(c.Title), c.ID)},
		DefaultConfiguration: sarifConfig{Level: SARIFLevel(c.Severity)},
		Properties: map[string]any{
			"tags":              uniqueSorted(append([]string{"security"}, c.Domains...)),
			"security-severity": securitySeverity(c.Severity),
			"severity":          c.Severity,
		},
	}
	rule.Help = sarifHelp{Text: "This control passed or did not apply in this audit; its remediation is in the controls reference (docs/controls.md)."}
	if opts.Docs != nil {
		if d, ok := opts.Docs(c.ID); ok {
			if d.Risk != "" {
				rule.FullDescription = sarifText{Text: oneLine(d.Risk)}
			}
			rule.Help = remediationHelp(result.Finding{Remediation: d.Remediation, Verification: d.Verification})
			rule.Properties["references"] = d.References
		}
	}
	if f, ok := findingFor(res, c.ID); ok {
		if f.Risk != "" {
			rule.FullDescription = sarifText{Text: oneLine(f.Risk)}
		}
		rule.Help = remediationHelp(f)
		rule.Properties["references"] = f.References
	}
	return rule
}

// remediationHelp is a finding's remediation and verification as SARIF help.
func remediationHelp(f result.Finding) sarifHelp {
	text := f.Remediation.Text
	md := f.Remediation.Text
	if f.Remediation.ConfigChange != "" {
		text += "\n\nConfig change:\n" + f.Remediation.ConfigChange
		md += "\n\nConfig change:\n\n" + result.MarkdownFence(f.Remediation.ConfigChange, "yaml")
	}
	if f.Verification.Request != "" {
		text += "\n\nVerify: " + f.Verification.Request + " -> " + f.Verification.Expected
		md += "\n\nVerify: `" + strings.ReplaceAll(f.Verification.Request, "`", "'") + "` → " + f.Verification.Expected
	}
	return sarifHelp{Text: nonEmpty(text, "See the controls reference (docs/controls.md)."), Markdown: md}
}

func sarifLocations(evidence []result.Evidence) []sarifLocation {
	var out []sarifLocation
	seen := map[string]bool{}
	for _, e := range evidence {
		key := e.Kind + "\x00" + EvidenceLocation(e)
		if seen[key] || EvidenceLocation(e) == "" {
			continue
		}
		seen[key] = true
		if e.Config != nil {
			pl := &sarifPhysical{ArtifactLocation: sarifAL{URI: fileURI(e.Config.File)}}
			if e.Config.Line > 0 {
				pl.Region = &sarifRegion{StartLine: e.Config.Line}
			}
			out = append(out, sarifLocation{PhysicalLocation: pl, Message: &sarifText{Text: oneLine(e.Config.Key + " = " + e.Config.Value)}})
			continue
		}
		kind := "resource"
		if e.HTTP != nil {
			kind = "url"
		}
		loc := EvidenceLocation(e)
		out = append(out, sarifLocation{
			LogicalLocations: []sarifLogical{{Name: loc, FullyQualifiedName: loc, Kind: kind}},
			Message:          &sarifText{Text: nonEmpty(oneLine(e.Summary), e.Kind)},
		})
	}
	return out
}

// anchorToConfig gives a result whose evidence has no file (an HTTP, TLS or
// MQTT observation) a physical location too: the target's first config file,
// where the fix goes. Code-scanning services list only results that have a
// file; the URL stays as the logical location.
func anchorToConfig(locs []sarifLocation, files []result.ConfigFile) []sarifLocation {
	if len(files) == 0 {
		return locs
	}
	for _, l := range locs {
		if l.PhysicalLocation != nil {
			return locs
		}
	}
	pl := &sarifPhysical{ArtifactLocation: sarifAL{URI: fileURI(files[0].Path)}}
	if len(locs) == 0 {
		return []sarifLocation{{PhysicalLocation: pl, Message: &sarifText{Text: "the gateway config to change"}}}
	}
	out := slices.Clone(locs)
	out[0].PhysicalLocation = pl
	return out
}

// fileURI turns a file path into a SARIF artifact URI: relative paths stay
// relative (forward slashes), absolute ones become file:// URIs.
func fileURI(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	if path.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}

func sarifTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ruleName turns "ingest_auth.insecure_transport" into
// "IngestAuthInsecureTransport".
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// uniqueSorted returns the distinct strings of s, sorted (SARIF tags are a set).
func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func nonEmpty(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}
