package serve

import (
	"context"
	"html/template"
	"net/http"
	"time"
)

// agentsText is the site agents page (GET /agents): live agents with
// version and load, each site's queue, the newest dead letters.
const agentsText = `{{define "agents"}}{{template "head" .}}
<h1>Site agents</h1>
{{- if not .Remote}}
<p class="sub">No executor.nats in the config: every audit runs in serve.</p>
{{- else}}
{{- if .View.Err}}<p class="sub" id="nats-error">NATS could not be read fully: {{.View.Err}}</p>{{end}}
<h2>Agents</h2>
<table id="agents"><thead><tr><th>site</th><th>agent</th><th>version</th><th>load</th><th>done</th><th>failed</th><th>last heartbeat</th></tr></thead><tbody>
{{- range .View.Agents}}
<tr><td>{{.Site}}</td><td>{{.Agent}}</td><td>{{.Version}}</td><td>{{.Running}}/{{.Parallel}}</td><td>{{.Done}}</td><td>{{.Failed}}</td><td>{{.At.Format "2006-01-02 15:04:05Z07:00"}}</td></tr>
{{- else}}
<tr><td colspan="7">no agent has sent a heartbeat recently</td></tr>
{{- end}}
</tbody></table>
<h2>Queues</h2>
<table id="queues"><thead><tr><th>site</th><th>waiting</th><th>in flight</th><th>redelivered</th><th>dead letters</th></tr></thead><tbody>
{{- range .View.Queues}}
<tr><td>{{.Site}}</td><td>{{.Waiting}}</td><td>{{.InFlight}}</td><td>{{.Redelivered}}</td><td>{{.Dead}}</td></tr>
{{- end}}
</tbody></table>
<h2>Dead letters</h2>
<table id="dead"><thead><tr><th>when</th><th>site</th><th>target</th><th>job</th><th>attempts</th><th>reason</th></tr></thead><tbody>
{{- range .View.Dead}}
<tr><td>{{.At.Format "2006-01-02 15:04:05Z07:00"}}</td><td>{{.Site}}</td><td>{{.Target}}</td><td>{{.JobID}}</td><td>{{.Attempts}}</td><td>{{.Reason}}</td></tr>
{{- else}}
<tr><td colspan="6">none</td></tr>
{{- end}}
</tbody></table>
{{- end}}
{{template "foot" .}}{{end}}`

var agentsPage = template.Must(template.Must(pages.Clone()).Parse(agentsText))

type agentsView struct {
	page
	Remote bool
	View   SitesView
}

// agents shows the site agents, queues and dead letters (GET /agents).
func (w *web) agents(rw http.ResponseWriter, r *http.Request) {
	v := agentsView{page: w.page(r, "Site agents")}
	w.svc.mu.Lock()
	remote := w.svc.remote
	w.svc.mu.Unlock()
	if remote != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		v.Remote, v.View = true, remote.sitesView(ctx)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := agentsPage.ExecuteTemplate(rw, "agents", v); err != nil {
		w.log.Error("render page", "page", "agents", "err", err, "request_id", info(r).requestID)
	}
}
