package fleettest

import (
	"context"
	"errors"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// Gateway is one gateway of a fixture fleet: which real worked-example
// result it gets (before: FAIL, after: PASS) or the error its audit meets.
type Gateway struct {
	Name   string
	Labels map[string]string
	// Result is "before", "after", or "" with Err set.
	Result string
	Err    string
}

// DefaultGateways is the fleet Summary renders: two passing, two failing
// and one whose audit could not run, on two sites and two models.
var DefaultGateways = []Gateway{
	{Name: "gw-0001", Labels: map[string]string{"site": "plant-1", "model": "pi4"}, Result: "after"},
	{Name: "gw-0002", Labels: map[string]string{"site": "plant-1", "model": "cm4"}, Result: "before"},
	{Name: "gw-0003", Labels: map[string]string{"site": "plant-2", "model": "pi4"}, Result: "after"},
	{Name: "gw-0004", Labels: map[string]string{"site": "plant-2", "model": "cm4"}, Err: "invalid target: ingest.token_env: HARDGATE_TOKEN is not set"},
	{Name: "gw-0005", Labels: map[string]string{"site": "plant-2", "model": "pi4"}, Result: "before"},
}

// Summary runs the real Runner and Summarize over gws, each audit answered
// with a fresh copy of a real worked-example result (renamed to the
// gateway), with a clock that ticks one second per read: the summary is
// deterministic, for golden files and browser tests. Results are written
// as results/<name>.json and .html paths, as the CLI names them.
func Summary(gws []Gateway) *result.Fleet {
	byName := map[string]Gateway{}
	var targets []spec.FleetTarget
	for i, g := range gws {
		byName[g.Name] = g
		t := spec.Default()
		t.Name = g.Name
		targets = append(targets, spec.FleetTarget{Target: t, Labels: g.Labels, Entry: i})
	}
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	n := 0
	now := func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }
	r := &fleet.Runner{Parallel: 1, Audit: audit.Options{Now: now, ToolVersion: "test"},
		AuditFunc: func(_ context.Context, t *spec.Target, _ audit.Options) (*result.Result, error) {
			g := byName[t.Name]
			var res *result.Result
			switch g.Result {
			case "before":
				res = reporttest.WorkedExampleBefore()
			case "after":
				res = reporttest.WorkedExampleAfter()
			default:
				return nil, errors.New(g.Err)
			}
			res.Target.Name = g.Name
			res.AuditID = "hg-" + g.Name
			return res, nil
		},
		OnDone: func(o *fleet.Outcome) {
			if o.Result != nil {
				o.Row.ResultPath = "results/" + o.Row.Name + ".json"
				o.Row.HTMLPath = "results/" + o.Row.Name + ".html"
			}
		},
	}
	run, err := r.Run(context.Background(), targets)
	if err != nil {
		panic("fleettest: " + err.Error())
	}
	return fleet.Summarize(run, fleet.Meta{Tool: result.Tool{Name: "hardgate", Version: "test"}, FleetFile: "fleet.yaml"})
}
