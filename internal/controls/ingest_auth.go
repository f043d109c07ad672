package controls

import (
	"fmt"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
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
	switch classifyHTTP(o) {
	case httpNoAnswer:
		if fromConfig && o.ErrKind == neterr.Refused {
			return answerNotServed, "nothing listens on the config's plaintext listener"
		}
		return answerUndecided, "no answer: " + string(o.ErrKind)
	case httpSuccess:
		return answerAccepted, fmt.Sprintf("accepted with %d", o.StatusCode)
	case httpAuthRefused:
		return answerRefused, fmt.Sprintf("refused with %d", o.StatusCode)
	case httpRedirect:
		loc, _, _ := redirectTarget(o)
		return answerUndecided, fmt.Sprintf("redirected with %d to %q (not followed)", o.StatusCode, loc)
	}
	if atTLSPort(o) {
		return answerUndecided, tlsPortReason(o)
	}
	return answerUndecided, fmt.Sprintf("unexpected status %d", o.StatusCode)
}

func evalUnauthenticatedIngest(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	for i := range o.Ingest {
		in := &o.Ingest[i]
		ev := in.Unauth.Evidence("without credentials:")
		a, why := classifyAuth(&in.Unauth, in.FromConfig)
		switch a {
		case answerAccepted:
			t.Fail(fmt.Sprintf("POST %s without credentials was %s", in.URL, why), ev)
		case answerRefused:
			t.Pass(fmt.Sprintf("POST %s without credentials was %s", in.URL, why), ev)
		case answerUndecided:
			t.Undecide(fmt.Sprintf("POST %s: %s", in.URL, why), ev)
		}
	}
	return t.Verdict("the target names no ingest URL")
}

func evalInvalidToken(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	for i := range o.Ingest {
		in := &o.Ingest[i]
		if in.InvalidToken == nil {
			continue
		}
		ev := in.InvalidToken.Evidence("with a made-up bearer token:")
		a, why := classifyAuth(in.InvalidToken, in.FromConfig)
		switch a {
		case answerAccepted:
			t.Fail(fmt.Sprintf("POST %s with a made-up bearer token was %s", in.URL, why), ev)
		case answerRefused:
			t.Pass(fmt.Sprintf("POST %s with a made-up bearer token was %s", in.URL, why), ev)
		case answerUndecided:
			t.Undecide(fmt.Sprintf("POST %s: %s", in.URL, why), ev)
		}
	}
	return t.Verdict("no valid token was given (token_env), so the target does not claim bearer auth; the wrong-token check did not run")
}

func evalAuthenticatedIngest(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	if !o.TokenGiven {
		return scoring.Verdict{Status: result.StatusNotApplicable, Reason: "the positive control did not run: no valid token was given (token_env)"}
	}
	for i := range o.Ingest {
		in := &o.Ingest[i]
		if in.FromConfig {
			continue
		}
		if in.Valid == nil {
			t.Undecide(fmt.Sprintf("%s: %s", in.URL, in.ValidSkipped), in.Unauth.Evidence("without credentials:"))
			continue
		}
		ev := in.Valid.Evidence("with the valid token:")
		a, why := classifyAuth(in.Valid, false)
		switch a {
		case answerAccepted:
			t.Pass(fmt.Sprintf("POST %s with the valid token was %s", in.URL, why), ev)
		case answerRefused:
			t.Fail(fmt.Sprintf("POST %s with the valid token was %s", in.URL, why), ev)
		default:
			t.Undecide(fmt.Sprintf("POST %s with the valid token: %s", in.URL, why), ev)
		}
	}
	return t.Verdict("the target names no ingest URL")
}

func evalInsecureTransport(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	if co := o.Config; co != nil && co.Ingestd != nil && co.Ingestd.Config.Listen.HTTP != "" {
		t.Fail("the gateway config enables a plaintext listener ("+co.Ingestd.Config.Listen.HTTP+")", co.Ingestd.Evidence("listen.http"))
	}
	for i := range o.Ingest {
		in := &o.Ingest[i]
		ev := in.Unauth.Evidence("transport:")
		switch {
		case in.Plaintext && atTLSPort(&in.Unauth):
			t.Undecide(in.URL+": "+tlsPortReason(&in.Unauth), ev)
		case in.Plaintext && in.Unauth.Responded() && isHTTPSRedirect(&in.Unauth):
			t.Pass(fmt.Sprintf("%s only redirects to HTTPS", in.URL), ev)
		case in.Plaintext && in.Unauth.Responded():
			t.Fail(fmt.Sprintf("%s answered ingest over plaintext HTTP (%d)", in.URL, in.Unauth.StatusCode), ev)
		case in.Plaintext && in.FromConfig && in.Unauth.ErrKind == neterr.Refused:
			// Nothing listens now; the config finding above stands.
		case in.Plaintext:
			t.Undecide(fmt.Sprintf("%s: no answer (%s)", in.URL, in.Unauth.ErrKind), ev)
		case in.TLSVerifyError != "":
			t.Fail(fmt.Sprintf("%s: the certificate does not verify against the trust anchor: %s", in.URL, in.TLSVerifyError), ev)
		case in.Unauth.Responded():
			t.Pass(fmt.Sprintf("%s served over verified %s", in.URL, in.Unauth.Exchange.TLSVersion), ev)
		default:
			t.Undecide(fmt.Sprintf("%s: no TLS answer (%s)", in.URL, in.Unauth.ErrKind), ev)
		}
	}
	return t.Verdict("the target names no ingest URL and no gateway config")
}

func isHTTPSRedirect(o *httpprobe.Observation) bool {
	_, u, ok := redirectTarget(o)
	return ok && u != nil && u.Scheme == "https"
}
