package serve

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// complianceIndexText is the page listing the frameworks, in the
// dashboard's frame.
const complianceIndexText = `{{define "compliance-index"}}{{template "head" .}}
<h1>Compliance views</h1>
<p class="sub">The latest audit of every target, provision by provision: per provision, how many targets show evidence of failure, are not tested, or are consistent with it. Provisions hardgate cannot test are listed as outside this audit: these views are evidence, never a certification.</p>
<ul id="frameworks">
{{- range .Frameworks}}
<li><a href="/compliance/{{.ID}}">{{.Name}} {{.Edition}}</a></li>
{{- end}}
</ul>
{{template "foot" .}}{{end}}`

var complianceIndex = template.Must(template.Must(pages.Clone()).Parse(complianceIndexText))

type complianceIndexView struct {
	page
	Frameworks []*catalog.Framework
}

// complianceFrameworks lists the frameworks (GET /compliance).
func (w *web) complianceFrameworks(rw http.ResponseWriter, r *http.Request) {
	v := complianceIndexView{page: w.page(r, "Compliance views")}
	for _, id := range catalog.FrameworkIDs() {
		fw, err := catalog.FrameworkByID(id)
		if err != nil {
			w.fail(rw, r, http.StatusInternalServerError, "could not load the frameworks", err)
			return
		}
		v.Frameworks = append(v.Frameworks, fw)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := complianceIndex.ExecuteTemplate(rw, "compliance-index", v); err != nil {
		w.log.Error("render page", "page", "compliance-index", "err", err, "request_id", info(r).requestID)
	}
}

// complianceView is the fleet's view through one framework (GET
// /compliance/{framework}): the latest stored result of every target,
// counted per provision, as the self-contained page of
// "hardgate report fleet.json --format compliance" (no script).
func (w *web) complianceView(rw http.ResponseWriter, r *http.Request) {
	fw, err := catalog.FrameworkByID(r.PathValue("framework"))
	if err != nil {
		w.fail(rw, r, http.StatusNotFound, "no such framework (see /compliance)", nil)
		return
	}
	cat, err := catalog.Load()
	if err != nil {
		w.fail(rw, r, http.StatusInternalServerError, "could not load the catalog", err)
		return
	}
	var results []*result.Result
	for _, st := range w.svc.Statuses() {
		if st.Latest == nil {
			continue
		}
		res, err := w.svc.store.Get(r.Context(), st.Latest.AuditID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			w.fail(rw, r, http.StatusInternalServerError, "could not read the audits", err)
			return
		}
		results = append(results, res)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := compliance.RenderFleet(rw, compliance.BuildFleet(results, cat, fw), "html"); err != nil {
		w.log.Error("render compliance view", "err", err, "request_id", info(r).requestID)
	}
}
