package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
)

// Options configure a sandbox. The zero value serves three tenants on a free loopback port.
type Options struct {
	Tenants   int   // partner tenants to generate; 0 means 3
	Customers int   // customers per tenant; 0 means 5
	Seed      int64 // world seed: the same seed gives the same tenant IDs, accounts and data

	// StateFile, when set, is loaded at start (if it exists) and written at Close.
	StateFile string
	// RequestLog, when set, receives one JSON line per request.
	RequestLog string
	// Dir receives the CA and cloud files; empty means a temporary directory removed at Close.
	Dir string
	// Addr is the listen address; empty means 127.0.0.1:0.
	Addr string

	Faults Faults

	// PageSize caps the items of a Partner Center page, whatever size the client asks; 0
	// means DefaultPageSize.
	PageSize int
	// UtilizationReady serves Azure utilization at once. Otherwise the first request of
	// each subscription and period answers 204 No Content with Retry-After: 1 (not ready
	// yet), as Partner Center documents it may.
	UtilizationReady bool
	// OperatorConsent is OperatorConsentAll (the default: the operator app is consented in
	// every partner tenant) or OperatorConsentNone (it has a service principal only in its
	// home tenant until a tenant's admin approves it on the admin consent endpoint).
	OperatorConsent string
	// OperatorRoles are the Graph application permissions the operator app requests and
	// holds; nil means graph.OperatorRoles, what uicctl needs. Tests that call other APIs
	// as the operator (the billing export) add theirs.
	OperatorRoles []string

	// ActionsSubject is the sub claim of the GitHub Actions issuer's tokens; empty means
	// DefaultActionsSubject (the subject the operator app's federated credential trusts).
	ActionsSubject string
	// ActionsTokenLifetime is how long its tokens live; 0 means DefaultActionsTokenLifetime.
	ActionsTokenLifetime time.Duration

	// OnServed, when set, is called after each request was handled and before its response
	// is flushed to the client (a test seam for crash tests).
	OnServed func(r *http.Request, status int)
}

// A Sandbox is a running emulation. Its methods are safe for concurrent use.
type Sandbox struct {
	opts      Options
	ln        net.Listener
	srv       *http.Server
	url       string
	dir       string
	ownDir    bool
	caFile    string
	caCert    *x509.Certificate
	cloudFile string
	graph     *graph.Service
	vaults    *keyvault.Service
	tunnels   *tunnelListener
	signer    *signer
	log       *requestLog
	faults    *faultInjector
	served    chan struct{}

	verified  sync.Map     // raw token -> verifiedToken
	verifiedN atomic.Int64 // entries stored since the last clear

	mu       sync.Mutex
	asked    map[string]bool // utilization periods asked for: the first ask is not ready
	st       *state
	actions  *signer // the GitHub Actions issuer's key; nil until first used
	job      actionsJob
	closed   bool
	closeErr error
}

const operatorName = "uicctl sandbox operator"

// The values of Options.OperatorConsent.
const (
	OperatorConsentAll  = "all"
	OperatorConsentNone = "none"
)

// Start generates (or restores) the world and serves it. The sandbox is ready when Start
// returns; ctx only bounds the start itself.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Tenants <= 0 {
		opts.Tenants = 3
	}
	if opts.Customers <= 0 {
		opts.Customers = 5
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if err := opts.Faults.validate(); err != nil {
		return nil, err
	}
	switch opts.OperatorConsent {
	case "":
		opts.OperatorConsent = OperatorConsentAll
	case OperatorConsentAll, OperatorConsentNone:
	default:
		return nil, fmt.Errorf("operator consent %q: want %s or %s", opts.OperatorConsent, OperatorConsentAll, OperatorConsentNone)
	}
	if opts.ActionsSubject == "" {
		opts.ActionsSubject = DefaultActionsSubject
	}
	if opts.ActionsTokenLifetime < 0 {
		return nil, fmt.Errorf("GitHub Actions token lifetime must not be negative")
	}
	if opts.ActionsTokenLifetime == 0 {
		opts.ActionsTokenLifetime = DefaultActionsTokenLifetime
	}
	// The admin API has no authentication and the certificate names 127.0.0.1 only.
	if host, _, err := net.SplitHostPort(opts.Addr); err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("invalid listen address %q: the sandbox listens on 127.0.0.1 only", opts.Addr)
	}
	s := &Sandbox{opts: opts, served: make(chan struct{}), job: actionsJob{subject: opts.ActionsSubject, lifetime: opts.ActionsTokenLifetime}}
	s.faults = newFaultInjector(opts.Faults, opts.Seed)
	s.graph = graph.New(graph.Options{
		Authenticate:      s.authenticateGraph,
		Now:               s.now,
		ReplicationLag:    func() time.Duration { return s.faults.get().ReplicationLag },
		BatchItemThrottle: s.faults.batchItemThrottle,
		UsageRows:         s.exportUsage,
	})
	if err := s.initState(); err != nil {
		return nil, err
	}

	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "uicctl-sandbox-")
		if err != nil {
			return nil, fmt.Errorf("cannot create sandbox directory: %w", err)
		}
		dir, s.ownDir = d, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create sandbox directory: %w", err)
	}
	s.dir = dir
	fail := func(err error) (*Sandbox, error) {
		if s.ln != nil {
			s.ln.Close()
		}
		if s.ownDir {
			os.RemoveAll(dir)
		}
		return nil, err
	}

	caPEM, leaf, err := newCA(time.Now())
	if err != nil {
		return fail(err)
	}
	blk, _ := pem.Decode(caPEM)
	if s.caCert, err = x509.ParseCertificate(blk.Bytes); err != nil {
		return fail(err)
	}
	s.caFile = filepath.Join(dir, "sandbox-ca.pem")
	if err := writeFileAtomic(s.caFile, caPEM, 0o644); err != nil {
		return fail(fmt.Errorf("cannot write CA file: %w", err))
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fail(fmt.Errorf("cannot listen on %s: %w", opts.Addr, err))
	}
	s.ln = ln
	s.url = "https://" + ln.Addr().String()
	if err := s.trustActionsIssuer(); err != nil {
		return fail(fmt.Errorf("cannot trust the GitHub Actions issuer: %w", err))
	}

	s.cloudFile = filepath.Join(dir, "cloud.json")
	if err := writeFileAtomic(s.cloudFile, s.Cloud().Marshal(), 0o644); err != nil {
		return fail(fmt.Errorf("cannot write cloud file: %w", err))
	}
	if opts.RequestLog != "" {
		if s.log, err = openRequestLog(opts.RequestLog); err != nil {
			return fail(err)
		}
	}

	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          discardLogger(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12},
	}
	s.tunnels = newTunnelListener(tls.NewListener(ln, s.srv.TLSConfig))
	go func() {
		defer close(s.served)
		s.srv.Serve(s.tunnels)
	}()
	return s, nil
}

// Cloud returns the endpoint set clients use to reach the sandbox.
func (s *Sandbox) Cloud() cloud.Cloud {
	c, _ := cloud.Parse(fmt.Appendf(nil, `{"name":"sandbox","login":%q,"graph":%q,"partnerCenter":%q,"partnerApi":%q}`,
		s.url+"/", s.url+"/graph/v1.0", s.url+"/partnercenter/v1", s.url+"/partnerapi"))
	return c
}

// URL returns https://127.0.0.1:PORT.
func (s *Sandbox) URL() string { return s.url }

// CAFile returns the path of the PEM file of the sandbox CA.
func (s *Sandbox) CAFile() string { return s.caFile }

// CloudFile returns the path of the cloud file (the format --cloud FILE reads).
func (s *Sandbox) CloudFile() string { return s.cloudFile }

// Dir returns the directory of the CA and cloud files.
func (s *Sandbox) Dir() string { return s.dir }

// Graph returns the Graph emulation, for tests that seed or inspect it directly.
func (s *Sandbox) Graph() *graph.Service { return s.graph }

// Operator returns the operator app: its home tenant, client ID and secret.
func (s *Sandbox) Operator() (tenantID, clientID, clientSecret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.World.Operator.TenantID, s.st.World.Operator.ClientID, s.st.OperatorSecret
}

// World returns a copy of the generated world, with the accounts' current MFA settings.
func (s *Sandbox) World() World {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.st.World)
	var w World
	json.Unmarshal(b, &w)
	for i := range w.Tenants {
		for j := range w.Tenants[i].Accounts {
			a := &w.Tenants[i].Accounts[j]
			if u := s.st.Users[strings.ToLower(a.UPN)]; u != nil {
				a.MFA = !u.MFAOff
			}
		}
	}
	return w
}

// Faults returns the faults in force.
func (s *Sandbox) Faults() Faults { return s.faults.get() }

// AdvanceClockTo moves the sandbox clock forward (the clock offset fault; the other faults
// stay) to the next noon UTC that falls on day of a month, and returns that time. Tests use it
// for usage that depends on the day of the billing period. Only forward: tokens, codes and
// secrets issued before stay valid.
func (s *Sandbox) AdvanceClockTo(day int) (time.Time, error) {
	if day < 1 || day > 28 {
		return time.Time{}, fmt.Errorf("day %d: want 1 to 28, a day every month has", day)
	}
	f := s.faults.get()
	now := time.Now().Add(f.ClockOffset).UTC()
	at := time.Date(now.Year(), now.Month(), day, 12, 0, 0, 0, time.UTC)
	if !at.After(now.Add(time.Minute)) {
		at = at.AddDate(0, 1, 0)
	}
	f.ClockOffset = time.Until(at)
	return at, s.SetFaults(f)
}

// SetFaults replaces the faults in force.
func (s *Sandbox) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.set(f)
	return nil
}

// EnvFile returns the env file contents: shell KEY=value lines.
func (s *Sandbox) EnvFile() []byte {
	tid, cid, secret := s.Operator()
	reqURL, reqToken := s.ActionsTokenRequest()
	var b strings.Builder
	b.WriteString(envFileMark + s.url + ": set -a; . THIS_FILE; set +a\n")
	for _, kv := range [][2]string{
		{"UICCTL_CLOUD", s.cloudFile},
		{"SSL_CERT_FILE", s.caFile},
		// curl prefers its own bundle to SSL_CERT_FILE on some builds; this makes it agree.
		{"CURL_CA_BUNDLE", s.caFile},
		{"UICCTL_SANDBOX_URL", s.url},
		{"AZURE_TENANT_ID", tid},
		{"AZURE_CLIENT_ID", cid},
		{"AZURE_CLIENT_SECRET", secret},
		{"AZURE_AUTHORITY_HOST", s.url + "/"},
		// The vaults belong to the partner tenants, the operator to its home tenant: tools on
		// azidentity's default chain (sops) take a token for the tenant a vault's challenge names
		// only with this.
		{"AZURE_ADDITIONALLY_ALLOWED_TENANTS", "*"},
		// What GitHub gives a job with id-token: write; uicctl signs in with it (workload
		// identity federation) when AZURE_CLIENT_SECRET is unset.
		{"ACTIONS_ID_TOKEN_REQUEST_URL", reqURL},
		{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", reqToken},
		// The vaults have their real names (NAME.vault.azure.net); the sandbox is the proxy
		// that reaches them. Go never proxies loopback; NO_PROXY keeps curl direct too.
		{"HTTPS_PROXY", s.url},
		{"NO_PROXY", "127.0.0.1,localhost"},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return []byte(b.String())
}

// WriteEnvFile writes EnvFile to path (mode 0600: it holds the operator secret).
func (s *Sandbox) WriteEnvFile(path string) error {
	if err := writeFileAtomic(path, s.EnvFile(), 0o600); err != nil {
		return fmt.Errorf("cannot write env file: %w", err)
	}
	return nil
}

// WriteWorldFile writes the world as indented JSON to path.
func (s *Sandbox) WriteWorldFile(path string) error {
	b, err := json.MarshalIndent(s.World(), "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("cannot write world file: %w", err)
	}
	return nil
}

// Close stops serving, writes the state file and the request log, and removes a temporary
// directory. It is safe to call more than once.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.closeErr
	}
	s.closed = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.served
	if s.opts.StateFile != "" {
		if err := s.saveState(s.opts.StateFile); err != nil {
			errs = append(errs, err)
		}
	}
	if s.log != nil {
		if err := s.log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cannot write request log: %w", err))
		}
	}
	if s.ownDir {
		os.RemoveAll(s.dir)
	}
	s.mu.Lock()
	s.closeErr = errors.Join(errs...)
	s.mu.Unlock()
	return s.closeErr
}

// now is the sandbox clock: the wall clock plus the clock-offset fault.
func (s *Sandbox) now() time.Time { return time.Now().Add(s.faults.get().ClockOffset) }

// handler routes one listener: sign-in at the root (MSAL drops authority path prefixes),
// the APIs under their prefixes, all behind the request log and the fault injector.
func (s *Sandbox) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graph/", http.StripPrefix("/graph", s.graph))
	mux.Handle("/blob/", s.graph.BlobHandler())
	mux.HandleFunc("/partnercenter/", s.servePartnerCenter)
	mux.HandleFunc("/partnerapi/", s.servePartnerAPI)
	mux.HandleFunc("/_sandbox/", s.serveAdmin)
	mux.HandleFunc(actionsPath+"/", s.serveActions)
	mux.HandleFunc("/", s.serveLogin)
	byHost := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case keyvault.IsVaultHost(r.Host):
			s.vaults.ServeHTTP(w, r)
		case strings.EqualFold(r.Host, discoveryHost):
			s.serveInstanceDiscovery(w, r)
		default:
			mux.ServeHTTP(w, r)
		}
	})
	logged := s.logRequests(s.faults.middleware(s.onServed(rewriteBodies(byHost))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			s.serveConnect(w, r)
			return
		}
		logged.ServeHTTP(w, r)
	})
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeFileAtomic writes a temp file in the same directory, syncs it and renames it over
// path, so readers never see a partial file.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+~,") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
