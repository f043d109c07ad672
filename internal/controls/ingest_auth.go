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
		return answerUndecided, redirectUndecided(o)
	default:
		return answerUndecided, fmt.Sprintf("unexpected status %d", o.StatusCode)
	}
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
		judgeWrongToken(&t, in, "a made-up bearer token", in.InvalidToken)
		for j := range in.NearMiss {
			nm := &in.NearMiss[j]
			judgeWrongToken(&t, in, "a near miss of the valid token ("+nm.Variant+")", &nm.Obs)
		}
		if len(in.NearMiss) == 0 && !in.FromConfig {
			// A gateway that checks only a token's id or prefix refuses
			// the made-up token too: without the near misses, a refusal
			// does not show that the secret is checked.
			t.Undecide(fmt.Sprintf("%s: the near-miss tokens were not sent (%s), so a gateway checking only a token's id or prefix is not ruled out", in.URL, in.ValidSkipped),
				in.InvalidToken.Evidence("with a made-up bearer token:"))
		}
	}
	return t.Verdict("no valid token was given (token_env), so the target does not claim bearer auth; the wrong-token check did not run")
}

// judgeWrongToken records the answer to a POST with a token the gateway
// must refuse; what names the token in the reason and the evidence.
func judgeWrongToken(t *scoring.Tally, in *collect.IngestObservation, what string, obs *httpprobe.Observation) {
	ev := obs.Evidence("with " + what + ":")
	a, why := classifyAuth(obs, in.FromConfig)
	switch a {
	case answerAccepted:
		t.Fail(fmt.Sprintf("POST %s with %s was %s", in.URL, what, why), ev)
	case answerRefused:
		t.Pass(fmt.Sprintf("POST %s with %s was %s", in.URL, what, why), ev)
	case answerUndecided:
		t.Undecide(fmt.Sprintf("POST %s with %s: %s", in.URL, what, why), ev)
	}
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
		case in.Plaintext && classifyHTTP(&in.Unauth) == httpRedirect:
			// The redirect comes after the request: the body and the
			// device's credentials have crossed the network in cleartext.
			loc, _, _ := redirectTarget(&in.Unauth)
			t.Fail(fmt.Sprintf("%s answered ingest over plaintext HTTP with a redirect (%d to %q): a device has already sent its body and credentials in cleartext before it is redirected", in.URL, in.Unauth.StatusCode, loc),
				in.Unauth.Evidence("transport: a plaintext POST, answered with a redirect after the body and any credentials crossed in cleartext:"))
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
		if !in.Plaintext {
			judgeHTTPSRedirects(&t, in)
		}
	}
	return t.Verdict("the target names no ingest URL and no gateway config")
}

// judgeHTTPSRedirects fails an https ingest URL that sends any of the
// audit's requests off TLS or to another host.
func judgeHTTPSRedirects(t *scoring.Tally, in *collect.IngestObservation) {
	for _, r := range ingestRequests(in) {
		if why := offTLSRedirect(in.URL, r.obs); why != "" {
			t.Fail(in.URL+" "+why, r.obs.Evidence("transport, "+r.label))
			return
		}
	}
}

// labelled is one request to an ingest URL with the words that name it.
type labelled struct {
	label string
	obs   *httpprobe.Observation
}

// ingestRequests lists the requests sent to one ingest URL.
func ingestRequests(in *collect.IngestObservation) []labelled {
	out := []labelled{{"without credentials:", &in.Unauth}}
	if in.InvalidToken != nil {
		out = append(out, labelled{"with a made-up bearer token:", in.InvalidToken})
	}
	if in.Valid != nil {
		out = append(out, labelled{"with the valid token:", in.Valid})
	}
	for j := range in.NearMiss {
		out = append(out, labelled{"with a near miss of the valid token (" + in.NearMiss[j].Variant + "):", &in.NearMiss[j].Obs})
	}
	return out
}
