package serve

import (
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

//go:embed assets/dashboard.html.tmpl
var pagesText string

//go:embed assets/dashboard.css
var dashboardCSS string

var pages = template.Must(template.New("dashboard").Funcs(report.TemplateFuncs()).Funcs(template.FuncMap{
	"spark": sparkline,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"pathEscape": url.PathEscape,
	"postureOf":  postureOf,
}).Parse(pagesText))

// page is what every page's layout needs.
type page struct {
	Title   string
	CSS     template.CSS
	User    user
	CSRF    string
	Auth    bool
	Version string
}

func (w *web) page(r *http.Request, title string) page {
	ri := info(r)
	return page{Title: title, CSS: report.StyleSheet() + template.CSS(dashboardCSS), User: ri.user, CSRF: ri.csrf,
		Auth: w.tokens != nil, Version: w.svc.version}
}

type errorView struct {
	page
	Status    int
	Message   string
	RequestID string
}

// overviewRow is one target on the overview.
type overviewRow struct {
	TargetStatus
	Labels   string
	Schedule slotInfo
}

type overviewView struct {
	page
	Rows               []overviewRow
	Filter             string
	LabelOptions       []string
	Total, Audited     int
	Passing, Regressed int
	Inconclusive       int
}

// overview is the fleet: worst first, filtered by a label (?label=k=v).
func (w *web) overview(rw http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("label")
	want := map[string]string{}
	if k, v, ok := strings.Cut(filter, "="); ok {
		want[k] = v
	}
	v := overviewView{page: w.page(r, "Fleet"), Filter: filter}
	labels := map[string]bool{}
	for _, st := range w.svc.Statuses() {
		for k, val := range st.Target.Labels {
			labels[k+"="+val] = true
		}
		if !st.Target.Matches(want) {
			continue
		}
		v.Rows = append(v.Rows, overviewRow{TargetStatus: st, Labels: st.Target.LabelString(), Schedule: w.svc.sched.info(st.Target.Name)})
	}
	for l := range labels {
		v.LabelOptions = append(v.LabelOptions, l)
	}
	slices.Sort(v.LabelOptions)
	slices.SortStableFunc(v.Rows, func(a, b overviewRow) int { return severityRank(b.TargetStatus) - severityRank(a.TargetStatus) })
	for _, row := range v.Rows {
		v.Total++
		if row.Latest != nil {
			v.Audited++
		}
		switch row.Drift {
		case StateRegressed:
			v.Regressed++
		case StateInconclusive:
			v.Inconclusive++
		case StatePassing:
			v.Passing++
		}
	}
	w.render(rw, r, "overview", v)
}

// severityRank orders targets worst first: regressed, then by risk.
func severityRank(st TargetStatus) int {
	rank := 0
	switch st.Drift {
	case StateRegressed:
		rank += 1_000_000
	case StateInconclusive:
		rank += 500_000
	}
	if st.Latest != nil {
		rank += st.Latest.RiskScore
	}
	return rank
}

type targetView struct {
	page
	Status    TargetStatus
	Schedule  slotInfo
	Chart     template.HTML
	Audits    []store.Entry
	Baselines []store.BaselineChange
	Runs      []store.Run
	Delta     *delta.Delta
	Notice    string
}

// target is one gateway: trend chart, baseline, delta to baseline, audits.
func (w *web) target(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, ok := w.svc.byName[name]
	if !ok {
		w.fail(rw, r, http.StatusNotFound, "no target "+name+" in the fleet", nil)
		return
	}
	ctx := r.Context()
	st := w.svc.status(t.Name)
	v := targetView{page: w.page(r, t.Name), Status: st, Schedule: w.svc.sched.info(t.Name), Notice: notice(r.URL.Query().Get("notice"))}
	var err error
	if v.Audits, err = w.svc.store.List(ctx, store.Filter{Target: t.Name, Limit: 50}); err != nil {
		w.fail(rw, r, http.StatusInternalServerError, "could not read the history", err)
		return
	}
	trend := slices.Clone(v.Audits)
	slices.Reverse(trend)
	baseID := ""
	if st.Baseline != nil {
		baseID = st.Baseline.AuditID
	}
	v.Chart = trendChart(trend, baseID)
	if v.Baselines, err = w.svc.store.BaselineHistory(ctx, t.Name); err != nil {
		w.fail(rw, r, http.StatusInternalServerError, "could not read the baselines", err)
		return
	}
	if v.Runs, err = w.svc.store.Runs(ctx, t.Name, 10); err != nil {
		w.fail(rw, r, http.StatusInternalServerError, "could not read the runs", err)
		return
	}
	if st.Baseline != nil && st.Latest != nil && st.Latest.AuditID != baseID {
		v.Delta, err = w.svc.compare(r, baseID, st.Latest.AuditID)
		if err != nil {
			w.fail(rw, r, http.StatusInternalServerError, "could not compare with the baseline", err)
			return
		}
	}
	w.render(rw, r, "target", v)
}

// notice is the message for a ?notice= code after a form's redirect.
func notice(code string) string {
	return map[string]string{
		"queued":   "Audit started. It appears in the list below when it finishes (reload the page).",
		"running":  "An audit of this target is already running.",
		"baseline": "Baseline changed.",
	}[code]
}

func (s *Service) compare(r *http.Request, from, to string) (*delta.Delta, error) {
	a, err := s.result(r.Context(), from)
	if err != nil {
		return nil, err
	}
	b, err := s.store.Get(r.Context(), to)
	if err != nil {
		return nil, err
	}
	return delta.Compare(a, b, delta.Options{AllowDifferentTargets: true})
}

// auditNow starts an audit of the target ("audit now").
func (w *web) auditNow(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := w.svc.RunNow(name)
	code := "queued"
	switch {
	case errors.Is(err, ErrUnknownTarget):
		w.fail(rw, r, http.StatusNotFound, "no target "+name+" in the fleet", nil)
		return
	case errors.Is(err, ErrRunning):
		code = "running"
	case err != nil:
		w.fail(rw, r, http.StatusServiceUnavailable, "serve is stopping", err)
		return
	}
	w.log.Info("audit now", "target", name, "by", info(r).user.Name, "outcome", code)
	if info(r).viaHeader {
		rw.WriteHeader(http.StatusAccepted)
		return
	}
	http.Redirect(rw, r, "/targets/"+url.PathEscape(name)+"?notice="+code, http.StatusSeeOther)
}

// setBaseline makes an audit the target's baseline.
func (w *web) setBaseline(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, http.StatusBadRequest, "unreadable form", err)
		return
	}
	auditID, reason := r.PostForm.Get("audit_id"), strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		reason = "set from the dashboard"
	}
	err := w.svc.SetBaseline(r.Context(), name, auditID, info(r).user.Name, reason)
	switch {
	case errors.Is(err, ErrUnknownTarget), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrWrongTarget):
		w.fail(rw, r, http.StatusBadRequest, "that audit cannot be the baseline of "+name, err)
		return
	case err != nil:
		w.fail(rw, r, http.StatusInternalServerError, "could not change the baseline", err)
		return
	}
	if info(r).viaHeader {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(rw, r, "/targets/"+url.PathEscape(name)+"?notice=baseline", http.StatusSeeOther)
}

// auditReport is the stored result as the ordinary HTML report.
func (w *web) auditReport(rw http.ResponseWriter, r *http.Request) {
	res, err := w.svc.store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		w.fail(rw, r, http.StatusNotFound, "no such audit", nil)
		return
	}
	if err != nil {
		w.fail(rw, r, http.StatusInternalServerError, "could not read the audit", err)
		return
	}
	if _, ok := w.svc.byName[res.Target.Name]; !ok {
		w.fail(rw, r, http.StatusNotFound, "no such audit in this fleet", nil)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := report.Render(rw, res, "html", report.RenderOptions{}); err != nil {
		w.log.Error("render report", "err", err, "request_id", info(r).requestID)
	}
}

// deltaReport compares two audits (?from=ID&to=ID) as the delta's HTML.
func (w *web) deltaReport(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := w.svc.compare(r, q.Get("from"), q.Get("to"))
	if errors.Is(err, store.ErrNotFound) {
		w.fail(rw, r, http.StatusNotFound, "no such audit", nil)
		return
	}
	if err != nil {
		w.fail(rw, r, http.StatusInternalServerError, "could not compare the audits", err)
		return
	}
	for _, name := range []string{d.Before.Target, d.After.Target} {
		if _, ok := w.svc.byName[name]; !ok {
			w.fail(rw, r, http.StatusNotFound, "no such audit in this fleet", nil)
			return
		}
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := delta.Render(rw, d, "html", delta.RenderOptions{}); err != nil {
		w.log.Error("render delta", "err", err, "request_id", info(r).requestID)
	}
}

type loginView struct {
	page
	Failed bool
}

func (w *web) loginPage(rw http.ResponseWriter, r *http.Request) {
	if w.tokens == nil {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	w.render(rw, r, "login", loginView{page: w.page(r, "Sign in")})
}

// login exchanges a token typed into the form for a session cookie.
func (w *web) login(rw http.ResponseWriter, r *http.Request) {
	if w.tokens == nil {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, http.StatusBadRequest, "unreadable form", err)
		return
	}
	u, ok := w.tokens.lookup(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		w.log.Warn("dashboard sign-in refused", "request_id", info(r).requestID, "remote", r.RemoteAddr)
		rw.WriteHeader(http.StatusUnauthorized)
		w.render(rw, r, "login", loginView{page: w.page(r, "Sign in"), Failed: true})
		return
	}
	id, _ := w.sessions.create(u)
	http.SetCookie(rw, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: w.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
	w.log.Info("dashboard sign-in", "user", u.Name, "role", u.Role)
	http.Redirect(rw, r, "/", http.StatusSeeOther)
}

func (w *web) logout(rw http.ResponseWriter, r *http.Request) {
	if id := info(r).sessionID; id != "" {
		w.sessions.drop(id)
	}
	http.SetCookie(rw, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(rw, r, "/login", http.StatusSeeOther)
}

func (w *web) render(rw http.ResponseWriter, r *http.Request, name string, v any) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(rw, name, v); err != nil {
		w.log.Error("render page", "page", name, "err", err, "request_id", info(r).requestID)
	}
}

// postureOf is a status's latest posture, for templates.
func postureOf(e *store.Entry) string {
	if e == nil {
		return result.PostureUnknown
	}
	return e.Posture
}
