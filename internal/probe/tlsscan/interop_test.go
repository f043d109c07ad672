package tlsscan

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/interop"
)

// oakleyGroup2 is the well-known 1024-bit MODP prime of RFC 2409 (a public
// constant, not a key); it stands in for "openssl dhparam 1024".
const oakleyGroup2 = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"

// nginxEndpoint is one nginx instance started by the test.
type nginxEndpoint struct {
	name   string
	addr   string
	caFile string // empty: trust nothing extra
	weak   bool
	// order is the cipher order hardgate must report for every version
	// with two or more suites: "server" where the config says
	// ssl_prefer_server_ciphers on, else "client" (nginx's default, off,
	// lets OpenSSL take the client's first acceptable suite).
	order   string
	dir     string
	process *exec.Cmd
}

const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path {{dir}}/tmp;
  proxy_temp_path {{dir}}/tmp;
  fastcgi_temp_path {{dir}}/tmp;
  uwsgi_temp_path {{dir}}/tmp;
  scgi_temp_path {{dir}}/tmp;
  server {
    listen {{addr}} ssl;
    ssl_certificate {{dir}}/server.crt;
    ssl_certificate_key {{dir}}/server.key;
{{tls}}
    location / { return 200 "ok\n"; }
  }
}
`

const strongTLS = `    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;
    ssl_prefer_server_ciphers on;`

const weakTLS = `    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers ALL:COMPLEMENTOFALL:@SECLEVEL=0;
    ssl_dhparam {{dir}}/dh1024.pem;`

const legacyProviderConf = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx writes the config for a strong or weak endpoint and starts
// Debian's nginx on a free loopback port until the test ends.
func startNginx(t *testing.T, nginx string, weak bool) *nginxEndpoint {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	ep := &nginxEndpoint{name: "strong", addr: freeLoopbackAddr(t), weak: weak, dir: dir, order: "server"}
	tlsConf := strongTLS
	var env []string
	if weak {
		ep.name = "weak"
		ep.order = "client"
		leaf := issue(t, nil, leafOpts{key: "rsa1024", sig: x509.SHA1WithRSA, cn: "weak.gateway.test", notAfter: time.Now().Add(5 * 24 * time.Hour)})
		writePEM(t, dir, "server", leaf)
		p, _ := new(big.Int).SetString(oakleyGroup2, 16)
		der, err := asn1DHParams(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dh1024.pem"), pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "openssl.cnf")
		if err := os.WriteFile(conf, []byte(legacyProviderConf), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "OPENSSL_CONF="+conf)
		tlsConf = weakTLS
	} else {
		ca := newTestCA(t)
		leaf := issue(t, ca, leafOpts{ips: []net.IP{net.IPv4(127, 0, 0, 1)}, dnsNames: []string{"localhost"}})
		writePEM(t, dir, "server", leaf)
		ep.caFile = filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ep.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := strings.NewReplacer("{{tls}}", tlsConf).Replace(nginxConf)
	conf = strings.NewReplacer("{{dir}}", dir, "{{addr}}", ep.addr).Replace(conf)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-e", "stderr", "-p", dir, "-c", confFile)
	cmd.Env = append(os.Environ(), env...)
	logFile, err := os.Create(filepath.Join(dir, "nginx.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	ep.process = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ep.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nginx.log"))
			t.Fatalf("nginx (%s) did not listen on %s: %v\n%s", ep.name, ep.addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ep
}

// asn1DHParams encodes PKCS#3 DHParameter {p, g=2}.
func asn1DHParams(p *big.Int) ([]byte, error) {
	type dhParams struct {
		P, G *big.Int
	}
	return asn1.Marshal(dhParams{P: p, G: big.NewInt(2)})
}

// sslscanXML is the part of sslscan --xml output compared.
type sslscanXML struct {
	Tests []struct {
		Ciphers []struct {
			Version string `xml:"sslversion,attr"`
			ID      string `xml:"id,attr"`
			Name    string `xml:"cipher,attr"`
		} `xml:"cipher"`
	} `xml:"ssltest"`
}

func runSSLScan(t *testing.T, sslscan, addr string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sslscan.xml")
	cmd := exec.Command(sslscan, "--no-colour", "--xml="+out, addr)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sslscan: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc sslscanXML
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse sslscan xml: %v", err)
	}
	var pairs []string
	for _, test := range doc.Tests {
		for _, c := range test.Ciphers {
			id, err := strconv.ParseUint(strings.TrimPrefix(c.ID, "0x"), 16, 16)
			if err != nil {
				t.Fatalf("sslscan cipher id %q: %v", c.ID, err)
			}
			pairs = append(pairs, fmt.Sprintf("%s 0x%04X", c.Version, id))
		}
	}
	slices.Sort(pairs)
	return slices.Compact(pairs)
}

type testsslFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

func runTestSSL(t *testing.T, testssl string, ep *nginxEndpoint) map[string]testsslFinding {
	t.Helper()
	out := filepath.Join(t.TempDir(), "testssl.json")
	args := []string{"--quiet", "--warnings", "off", "--color", "0", "--jsonfile", out, "-p", "-s", "-f", "-S"}
	if ep.caFile != "" {
		args = append(args, "--add-ca", ep.caFile)
	}
	args = append(args, ep.addr)
	cmd := exec.Command(testssl, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "OPENSSL_CONF=") })
	b, runErr := cmd.CombinedOutput() // testssl's exit code counts findings
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("testssl wrote no JSON (%v): %v\n%s", runErr, err, b)
	}
	var findings []testsslFinding
	if err := json.Unmarshal(data, &findings); err != nil {
		t.Fatalf("parse testssl json: %v", err)
	}
	m := make(map[string]testsslFinding, len(findings))
	for _, f := range findings {
		m[f.ID] = f
	}
	return m
}

func TestInteropNginxMatchesSSLScanAndTestSSL(t *testing.T) {
	if testing.Short() {
		interop.Skip(t, "-short given, and this test runs nginx, sslscan and testssl.sh for about a minute")
	}
	nginx := interop.Binary(t, "nginx", "nginx")
	sslscan := interop.Binary(t, "sslscan", "sslscan")
	testssl := interop.Binary(t, "testssl", "testssl.sh")
	for _, weak := range []bool{false, true} {
		ep := startNginx(t, nginx, weak)
		t.Run("the "+ep.name+" nginx endpoint gets the same accepted suites and verdicts", func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig(ep.addr)
			cfg.SystemRoots = false
			if ep.caFile != "" {
				pemData, err := os.ReadFile(ep.caFile)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Roots = x509.NewCertPool()
				cfg.Roots.AppendCertsFromPEM(pemData)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := Scan(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.Complete(); err != nil {
				t.Fatalf("hardgate scan incomplete: %v", err)
			}
			t.Logf("hardgate: %s in %v", rep.Summary(), rep.Duration)

			var ours []string
			for _, a := range rep.Accepted() {
				ours = append(ours, fmt.Sprintf("%s 0x%04X", a.Version, a.Suite.ID))
			}
			slices.Sort(ours)
			theirs := runSSLScan(t, sslscan, ep.addr)
			if !slices.Equal(ours, theirs) {
				t.Errorf("accepted (version, suite) pairs differ from sslscan's:\n only hardgate: %v\n only sslscan:  %v",
					minus(ours, theirs), minus(theirs, ours))
			}
			t.Logf("%d accepted pairs, same as sslscan", len(ours))

			for _, p := range rep.Protocols {
				if len(p.Suites) >= 2 && p.Preference != ep.order {
					t.Errorf("%v cipher order: hardgate %q, want %q (the nginx config decides it)", p.Version, p.Preference, ep.order)
				}
			}

			ts := runTestSSL(t, testssl, ep)
			compareWithTestSSL(t, rep, ts)
		})
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// compareWithTestSSL checks hardgate's facts against testssl.sh's verdicts.
func compareWithTestSSL(t *testing.T, rep *Report, ts map[string]testsslFinding) {
	t.Helper()
	get := func(id string) testsslFinding {
		t.Helper()
		f, ok := ts[id]
		if !ok {
			t.Fatalf("testssl JSON has no %q", id)
		}
		return f
	}
	offered := func(id string) bool {
		f := get(id)
		return strings.HasPrefix(f.Finding, "offered") && !strings.HasPrefix(f.Finding, "not offered")
	}
	check := func(what string, ours, theirs bool, detail string) {
		t.Helper()
		if ours != theirs {
			t.Errorf("%s: hardgate %v, testssl %v (%s)", what, ours, theirs, detail)
		}
	}
	for id, v := range map[string]Version{"SSLv3": VersionSSL30, "TLS1": VersionTLS10, "TLS1_1": VersionTLS11, "TLS1_2": VersionTLS12, "TLS1_3": VersionTLS13} {
		check("protocol "+v.String(), rep.Protocol(v).Supported, offered(id), get(id).Finding)
	}
	has := func(f func(Suite) bool) bool {
		return slices.ContainsFunc(rep.Accepted(), func(a AcceptedSuite) bool { return f(a.Suite) })
	}
	check("NULL suites", has(Suite.Null), offered("cipherlist_NULL"), get("cipherlist_NULL").Finding)
	check("anonymous suites", has(Suite.Anonymous), offered("cipherlist_aNULL"), get("cipherlist_aNULL").Finding)
	check("export suites", has(func(s Suite) bool { return s.Export }), offered("cipherlist_EXPORT"), get("cipherlist_EXPORT").Finding)
	check("forward secrecy offered", has(Suite.ForwardSecret), offered("PFS"), get("PFS").Finding)
	// testssl lists the forward-secret suites; hardgate must find the same names.
	var fsOurs []string
	for _, a := range rep.Accepted() {
		if a.Suite.ForwardSecret() && !a.Suite.Anonymous() && !a.Suite.Null() { // testssl lists neither aNULL nor eNULL
			fsOurs = append(fsOurs, a.Suite.Name())
		}
	}
	slices.Sort(fsOurs)
	fsOurs = slices.Compact(fsOurs)
	fsTheirs := strings.Fields(get("PFS_ciphers").Finding)
	slices.Sort(fsTheirs)
	if !slices.Equal(fsOurs, fsTheirs) {
		t.Errorf("forward-secret suites differ:\n only hardgate: %v\n only testssl:  %v", minus(fsOurs, fsTheirs), minus(fsTheirs, fsOurs))
	}

	// DH group sizes: testssl names the group ("RFC2409/Oakley Group 2",
	// "ffdhe2048 ffdhe3072", "Unknown DH group (1024 bits)"); hardgate has
	// the prime size of every DHE suite and the FFDHE groups it enumerated.
	ourDH := dhSizes(rep)
	if f, ok := ts["DH_groups"]; ok {
		theirDH, err := testsslDHBits(f.Finding)
		if err != nil {
			t.Errorf("DH group: %v", err)
		} else if !slices.Equal(ourDH, theirDH) {
			t.Errorf("DH group sizes: hardgate %v bits, testssl %v bits (%q)", ourDH, theirDH, f.Finding)
		} else {
			t.Logf("DH group sizes %v bits, same as testssl's %q", ourDH, f.Finding)
		}
	} else if len(ourDH) > 0 {
		t.Errorf("DH group: hardgate %v bits, testssl reports none", ourDH)
	}
	opensslCurve := map[string]string{"prime256v1": "secp256r1", "X25519": "x25519", "X448": "x448"}
	var curvesTheirs, curvesOurs []string
	for _, c := range strings.Fields(get("PFS_ECDHE_curves").Finding) {
		if n, ok := opensslCurve[c]; ok {
			c = n
		}
		curvesTheirs = append(curvesTheirs, c)
	}
	for _, g := range rep.Groups {
		for _, grp := range g.Groups {
			if !strings.HasPrefix(grp.Name, "ffdhe") {
				curvesOurs = append(curvesOurs, grp.Name)
			}
		}
	}
	slices.Sort(curvesOurs)
	curvesOurs = slices.Compact(curvesOurs)
	slices.Sort(curvesTheirs)
	if !slices.Equal(curvesOurs, curvesTheirs) {
		t.Errorf("ECDHE curves: hardgate %v, testssl %v", curvesOurs, curvesTheirs)
	}

	c := rep.Certificate
	chain := get("cert_chain_of_trust")
	check("chain of trust", c.Trusted, strings.HasPrefix(chain.Finding, "passed"), chain.Finding)
	check("self-signed", c.SelfSigned, strings.Contains(chain.Finding, "self signed"), chain.Finding)
	key := get("cert_keySize")
	if m := regexp.MustCompile(`(\d+) bits`).FindStringSubmatch(key.Finding); m == nil || m[1] != strconv.Itoa(c.KeyBits) {
		t.Errorf("key size: hardgate %d, testssl %q", c.KeyBits, key.Finding)
	}
	check("weak key", c.KeyType == "RSA" && c.KeyBits < 2048, !okSeverity(key.Severity), key.Finding)
	sig := get("cert_signatureAlgorithm")
	// The probe reports the algorithm; which ones are weak is the
	// catalog's (transport_tls.weak_signature). testssl flags MD5 and SHA-1.
	weakSig := strings.Contains(c.SignatureAlgorithm, "MD5") || strings.Contains(c.SignatureAlgorithm, "SHA1")
	check("weak signature", weakSig, !okSeverity(sig.Severity), sig.Finding)
	exp := get("cert_expirationStatus")
	check("expired", c.Expired, strings.Contains(exp.Finding, "expired"), exp.Finding)
	check("expiring within 30 days", !c.Expired && c.DaysLeft < 30, strings.Contains(exp.Finding, "< 30 days"), exp.Finding)
	san := get("cert_subjectAltName")
	check("missing SAN", !c.HasSAN, strings.Contains(san.Finding, "No SAN"), san.Finding)
	trust := get("cert_trust")
	check("hostname match", c.HostnameMatch, strings.HasPrefix(trust.Finding, "Ok via SAN"), trust.Finding)
}

func okSeverity(s string) bool { return s == "OK" || s == "INFO" }

// dhSizes lists, sorted and without repeats, the finite-field DH sizes the
// server accepts: the prime of every DHE suite and every FFDHE group.
func dhSizes(rep *Report) []int {
	var out []int
	for _, a := range rep.Accepted() {
		if a.DHBits > 0 {
			out = append(out, a.DHBits)
		}
	}
	for _, g := range rep.Groups {
		for _, grp := range g.Groups {
			if strings.HasPrefix(grp.Name, "ffdhe") {
				out = append(out, grp.Bits)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// testsslGroupBits maps the group names testssl.sh 3.0 prints in DH_groups
// (etc/common-primes.txt and get_common_prime) to their prime sizes.
var testsslGroupBits = map[string]int{
	"RFC2409/Oakley Group 1":  768,
	"RFC2409/Oakley Group 2":  1024,
	"RFC3526/Oakley Group 5":  1536,
	"RFC3526/Oakley Group 14": 2048,
	"RFC3526/Oakley Group 15": 3072,
	"RFC3526/Oakley Group 16": 4096,
	"RFC3526/Oakley Group 17": 6144,
	"RFC3526/Oakley Group 18": 8192,
}

// testsslDHBits reads testssl.sh's DH_groups finding as sorted prime sizes.
// It is either one named group (a known prime, "<source>/<n>-bit ...", or
// "Unknown DH group (<n> bits)") or a space-separated list of RFC 7919
// groups ("ffdhe2048 ffdhe3072"); anything else is an error, so that a
// comparison can never pass by not understanding the name.
func testsslDHBits(finding string) ([]int, error) {
	finding = strings.TrimSpace(finding)
	if bits, ok := testsslGroupBits[finding]; ok {
		return []int{bits}, nil
	}
	if m := regexp.MustCompile(`^Unknown DH group \((\d+) bits\)$`).FindStringSubmatch(finding); m != nil {
		bits, err := strconv.Atoi(m[1])
		return []int{bits}, err
	}
	if m := regexp.MustCompile(`^[^/]+/(\d+)-bit (MODP|DSA) group`).FindStringSubmatch(finding); m != nil {
		bits, err := strconv.Atoi(m[1])
		return []int{bits}, err
	}
	var out []int
	for _, name := range strings.Fields(finding) {
		m := regexp.MustCompile(`^(?:RFC7919/)?ffdhe(2048|3072|4096|6144|8192)$`).FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("testssl DH group %q not recognised: add it to testsslDHBits", finding)
		}
		bits, _ := strconv.Atoi(m[1])
		out = append(out, bits)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("testssl DH group %q not recognised: add it to testsslDHBits", finding)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func TestTestSSLDHGroupNamesAreReadAsSizes(t *testing.T) {
	tests := []struct {
		name    string
		finding string
		want    []int
	}{
		{"RFC 2409 group 1 is 768 bits", "RFC2409/Oakley Group 1", []int{768}},
		{"RFC 2409 group 2 is 1024 bits", "RFC2409/Oakley Group 2", []int{1024}},
		{"RFC 3526 group 5 is 1536 bits", "RFC3526/Oakley Group 5", []int{1536}},
		{"RFC 3526 group 14 is 2048 bits", "RFC3526/Oakley Group 14", []int{2048}},
		{"RFC 3526 group 18 is 8192 bits", "RFC3526/Oakley Group 18", []int{8192}},
		{"a single RFC 7919 group is its size", "RFC7919/ffdhe2048", []int{2048}},
		{"a list of RFC 7919 groups is every size", "ffdhe3072 ffdhe2048 ffdhe8192", []int{2048, 3072, 8192}},
		{"a known prime of a program carries its size in the name", "openssl/1024-bit MODP group with safe prime modulus", []int{1024}},
		{"an RFC 5114 DSA group carries its size in the name", "RFC5114/2048-bit DSA group with 224-bit prime order subgroup", []int{2048}},
		{"an unknown group carries its size in parentheses", "Unknown DH group (1536 bits)", []int{1536}},
		{"a name without a size is not recognised", "Postfix", nil},
		{"an unknown RFC 7919 size is not recognised", "ffdhe1024", nil},
		{"an empty finding is not recognised", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testsslDHBits(tt.finding)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("testsslDHBits(%q) = %v, want an error", tt.finding, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("testsslDHBits(%q) = %v, %v; want %v", tt.finding, got, err, tt.want)
			}
		})
	}
}
