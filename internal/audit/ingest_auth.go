package audit

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/result"
)

// answer classifies one response for the authentication controls.
type answer int

const (
	answerAccepted  answer = iota // 2xx
	answerRefused                 // 401 or 403
	answerUndecided               // anything else, or no response
	answerNotServed               // a config-derived URL with nothing listening
)

func classifyAuth(o *httpprobe.Observation, fromConfig bool) (answer, string) {
	switch {
	case !o.Responded() && fromConfig && o.ErrKind == httpprobe.ErrRefused:
		return answerNotServed, "nothing listens on the config's plaintext listener"
	case !o.Responded():
		return answerUndecided, "no answer: " + o.ErrKind
	case o.StatusCode >= 200 && o.StatusCode < 300:
		return answerAccepted, fmt.Sprintf("accepted with %d", o.StatusCode)
	case o.StatusCode == 401 || o.StatusCode == 403:
		return answerRefused, fmt.Sprintf("refused with %d", o.StatusCode)
	case o.StatusCode >= 300 && o.StatusCode < 400:
		return answerUndecided, fmt.Sprintf("redirected with %d to %q (not followed)", o.StatusCode, o.Exchange.ResponseHeaders["Location"])
	default:
		return answerUndecided, fmt.Sprintf("unexpected status %d", o.StatusCode)
	}
}

// tally collects per-URL outcomes into one verdict: any failure fails the
// control, otherwise anything undecided makes it an error, otherwise it passes.
type tally struct {
	failed, undecided, passed []string
	failEv, otherEv           []result.Evidence
}

func (t *tally) fail(why string, ev ...result.Evidence) {
	t.failed = append(t.failed, why)
	t.failEv = append(t.failEv, ev...)
}

func (t *tally) undecide(why string, ev ...result.Evidence) {
	t.undecided = append(t.undecided, why)
	t.otherEv = append(t.otherEv, ev...)
}

func (t *tally) pass(why string, ev ...result.Evidence) {
	t.passed = append(t.passed, why)
	t.otherEv = append(t.otherEv, ev...)
}

func (t *tally) verdict(notApplicable string) Verdict {
	switch {
	case len(t.failed) > 0:
		return Verdict{Status: result.StatusFail, Reason: strings.Join(t.failed, "; "), Evidence: append(t.failEv, t.otherEv...)}
	case len(t.undecided) > 0:
		return Verdict{Status: result.StatusError, Reason: "could not decide: " + strings.Join(t.undecided, "; "), Evidence: t.otherEv}
	case len(t.passed) > 0:
		return Verdict{Status: result.StatusPass, Reason: strings.Join(t.passed, "; "), Evidence: t.otherEv}
	default:
		return Verdict{Status: result.StatusNotApplicable, Reason: notApplicable}
	}
}

func evalUnauthenticatedIngest(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	for i := range o.Ingest {
		in := &o.Ingest[i]
		ev := in.Unauth.Evidence("without credentials:")
		a, why := classifyAuth(&in.Unauth, in.FromConfig)
		switch a {
		case answerAccepted:
			t.fail(fmt.Sprintf("POST %s without credentials was %s", in.URL, why), ev)
		case answerRefused:
			t.pass(fmt.Sprintf("POST %s without credentials was %s", in.URL, why), ev)
		case answerUndecided:
			t.undecide(fmt.Sprintf("POST %s: %s", in.URL, why), ev)
		}
	}
	return t.verdict("the target names no ingest URL")
}

func evalInvalidToken(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	for i := range o.Ingest {
		in := &o.Ingest[i]
		if in.InvalidToken == nil {
			continue
		}
		ev := in.InvalidToken.Evidence("with a made-up bearer token:")
		a, why := classifyAuth(in.InvalidToken, in.FromConfig)
		switch a {
		case answerAccepted:
			t.fail(fmt.Sprintf("POST %s with a made-up bearer token was %s", in.URL, why), ev)
		case answerRefused:
			t.pass(fmt.Sprintf("POST %s with a made-up bearer token was %s", in.URL, why), ev)
		case answerUndecided:
			t.undecide(fmt.Sprintf("POST %s: %s", in.URL, why), ev)
		}
	}
	return t.verdict("no valid token was given (token_env), so the target does not claim bearer auth; the wrong-token check did not run")
}

func evalAuthenticatedIngest(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	if !o.TokenGiven {
		return Verdict{Status: result.StatusNotApplicable, Reason: "the positive control did not run: no valid token was given (token_env)"}
	}
	for i := range o.Ingest {
		in := &o.Ingest[i]
		if in.FromConfig {
			continue
		}
		if in.Valid == nil {
			t.undecide(fmt.Sprintf("%s: %s", in.URL, in.ValidSkipped), in.Unauth.Evidence("without credentials:"))
			continue
		}
		ev := in.Valid.Evidence("with the valid token:")
		a, why := classifyAuth(in.Valid, false)
		switch a {
		case answerAccepted:
			t.pass(fmt.Sprintf("POST %s with the valid token was %s", in.URL, why), ev)
		case answerRefused:
			t.fail(fmt.Sprintf("POST %s with the valid token was %s", in.URL, why), ev)
		default:
			t.undecide(fmt.Sprintf("POST %s with the valid token: %s", in.URL, why), ev)
		}
	}
	return t.verdict("the target names no ingest URL")
}

func evalInsecureTransport(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	if co := o.Config; co != nil && co.Ingestd != nil && co.Ingestd.Config.Listen.HTTP != "" {
		t.fail("the gateway config enables a plaintext listener ("+co.Ingestd.Config.Listen.HTTP+")", co.Ingestd.Evidence("listen.http"))
	}
	for i := range o.Ingest {
		in := &o.Ingest[i]
		ev := in.Unauth.Evidence("transport:")
		switch {
		case in.Plaintext && in.Unauth.Responded() && isHTTPSRedirect(&in.Unauth):
			t.pass(fmt.Sprintf("%s only redirects to HTTPS", in.URL), ev)
		case in.Plaintext && in.Unauth.Responded():
			t.fail(fmt.Sprintf("%s answered ingest over plaintext HTTP (%d)", in.URL, in.Unauth.StatusCode), ev)
		case in.Plaintext && in.FromConfig && in.Unauth.ErrKind == httpprobe.ErrRefused:
			// Nothing listens now; the config finding above stands.
		case in.Plaintext:
			t.undecide(fmt.Sprintf("%s: no answer (%s)", in.URL, in.Unauth.ErrKind), ev)
		case in.TLSVerifyError != "":
			t.fail(fmt.Sprintf("%s: the certificate does not verify against the trust anchor: %s", in.URL, in.TLSVerifyError), ev)
		case in.Unauth.Responded():
			t.pass(fmt.Sprintf("%s served over verified %s", in.URL, in.Unauth.Exchange.TLSVersion), ev)
		default:
			t.undecide(fmt.Sprintf("%s: no TLS answer (%s)", in.URL, in.Unauth.ErrKind), ev)
		}
	}
	return t.verdict("the target names no ingest URL and no gateway config")
}

func isHTTPSRedirect(o *httpprobe.Observation) bool {
	if o.StatusCode < 300 || o.StatusCode >= 400 {
		return false
	}
	u, err := url.Parse(o.Exchange.ResponseHeaders["Location"])
	return err == nil && u.Scheme == "https"
}
