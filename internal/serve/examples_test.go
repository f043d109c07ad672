package serve

import (
	"encoding/json"
	dto "github.com/prometheus/client_model/go"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const examplesDir = "../../examples/serve"

func TestTheExampleConfigAndFleetAreValid(t *testing.T) {
	c, err := Load(filepath.Join(examplesDir, "serve.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	tgts, err := LoadFleet(c.Fleet)
	if err != nil {
		t.Fatal(err)
	}
	if len(tgts) != 3 {
		t.Fatalf("%d targets, want 3", len(tgts))
	}
	if w := c.Schedule.scheduleFor(tgts[0]); w.String() != "cron 0 3 * * *" {
		t.Errorf("gw-0001 (site=plant-1) schedule %s, want the nightly override", w)
	}
	if w := c.Schedule.scheduleFor(tgts[2]); w.String() != "every 6h0m0s" {
		t.Errorf("gw-0003 schedule %s, want the default", w)
	}
}

// exampleExpressions returns every PromQL expression of the example alert
// rules and Grafana dashboard.
func exampleExpressions(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	data, err := os.ReadFile(filepath.Join(examplesDir, "prometheus-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["prometheus-rules.yml"] = append(out["prometheus-rules.yml"], r.Expr)
		}
	}
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	data, err = os.ReadFile(filepath.Join(examplesDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			out["grafana-dashboard.json"] = append(out["grafana-dashboard.json"], tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			out["grafana-dashboard.json"] = append(out["grafana-dashboard.json"], q)
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\bhardgate_[a-z_]+`)

func TestTheExampleRulesAndDashboardUseRealMetricNames(t *testing.T) {
	exec := newFakeExec()
	r := newReceiver(t)
	s := newService(t, webhookConfig(t, r), openStore(t, ""), exec, targets("gw-1"))
	startWebhook(t, s)
	for _, mode := range []string{"pass", "regress"} {
		exec.set("gw-1", mode)
		s.runOne(s.byName["gw-1"], TriggerManual, time.Now())
	}
	// The sender counts a delivery after the receiver answered, so wait for
	// the count too, not only for the alert.
	var families []*dto.MetricFamily
	waitFor(t, "the alert and its delivery counted", func() bool {
		var err error
		families, err = s.metrics.registry.Gather()
		if err != nil || len(r.received()) != 1 {
			return false
		}
		return slices.ContainsFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == "hardgate_alert_deliveries_total" })
	})
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				exported[f.GetName()+suffix] = true
			}
		}
	}
	for file, exprs := range exampleExpressions(t) {
		if len(exprs) < 5 {
			t.Errorf("%s: only %d expressions read", file, len(exprs))
		}
		var used []string
		for _, e := range exprs {
			used = append(used, metricName.FindAllString(e, -1)...)
		}
		if len(used) == 0 {
			t.Errorf("%s uses no hardgate metric", file)
		}
		for _, name := range used {
			if !exported[name] {
				t.Errorf("%s uses %s, which serve does not export", file, name)
			}
		}
		slices.Sort(used)
		t.Logf("%s uses %s", file, strings.Join(slices.Compact(used), ", "))
	}
}
