package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

const stateVersion = 1

// state is everything the sandbox itself keeps (Graph keeps its own, stored in Graph).
// It is what --state FILE holds, so fields are exported for encoding/json.
type state struct {
	Version        int                       `json:"version"`
	World          World                     `json:"world"`
	OperatorSecret string                    `json:"operatorSecret"`
	SigningKey     []byte                    `json:"signingKey"` // PKCS#8 DER: tokens survive a restart
	Users          map[string]*user          `json:"users"`      // by lower-case UPN
	Refresh        map[string]*refreshRecord `json:"refreshTokens"`
	// AppMgmtRemoved holds "tenantID/appID" for apps whose Partner Center App management
	// registration was removed; every other app counts as registered.
	AppMgmtRemoved map[string]bool `json:"appManagementRemoved"`
	Graph          json.RawMessage `json:"graph"`
	// Vaults are the Key Vaults with their secrets and keys (absent in older state files:
	// the vaults start empty).
	Vaults json.RawMessage `json:"vaults,omitempty"`
	// ActionsKey is the GitHub Actions issuer's PKCS#8 key, once made; ActionsRequestToken
	// is the bearer token of its request endpoint (ACTIONS_ID_TOKEN_REQUEST_TOKEN).
	ActionsKey          []byte `json:"actionsKey,omitempty"`
	ActionsRequestToken string `json:"actionsRequestToken"`

	codes   map[string]*authCode
	tenants map[string]*tenantInfo // by lower-case tenant ID and domain
}

type user struct {
	UPN      string `json:"upn"`
	Password string `json:"password"`
	MFACode  string `json:"mfaCode"`
	MFAOff   bool   `json:"mfaOff"`
	Admin    bool   `json:"admin,omitempty"` // may approve apps on the admin consent endpoint
	ObjectID string `json:"objectId"`
	TenantID string `json:"tenantId"`
	// DirectoryRoles are the template IDs of the account's active directory roles: its
	// user tokens carry them in wids. A tenant's admin is Global Administrator.
	DirectoryRoles  []string  `json:"directoryRoles,omitempty"`
	TokensValidFrom time.Time `json:"tokensValidFrom"`
}

type tenantInfo struct {
	ID, Domain, Name string
	partner          *Tenant // nil for the operator's home tenant
}

func (s *Sandbox) initState() error {
	if s.opts.StateFile != "" {
		b, err := os.ReadFile(s.opts.StateFile)
		switch {
		case err == nil:
			return s.loadState(b)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("cannot read state file: %w", err)
		}
	}
	now := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	st := &state{
		Version:        stateVersion,
		World:          generateWorld(s.opts.Seed, s.opts.Tenants, s.opts.Customers),
		OperatorSecret: newClientSecret(),
		SigningKey:     der,
		Users:          map[string]*user{},
		Refresh:        map[string]*refreshRecord{},
		AppMgmtRemoved: map[string]bool{},
	}
	op := st.World.Operator
	s.graph.AddTenant(op.TenantID, OperatorDomain)
	c := op.Consultant
	st.Users[strings.ToLower(c.UPN)] = &user{UPN: c.UPN, Password: c.Password, MFACode: c.MFACode, ObjectID: c.ObjectID, TenantID: op.TenantID, Admin: true,
		DirectoryRoles: []string{GlobalAdministratorRole}}
	// The operator is consented in its home tenant, and in every partner tenant unless
	// --operator-consent none leaves that to each tenant's admin (AdminConsent).
	all := []string{op.TenantID}
	for _, t := range st.World.Tenants {
		s.graph.AddTenant(t.TenantID, t.Domain)
		if s.opts.OperatorConsent != OperatorConsentNone {
			all = append(all, t.TenantID)
		}
		for _, a := range t.Accounts {
			st.Users[strings.ToLower(a.UPN)] = &user{UPN: a.UPN, Password: a.Password, MFACode: a.MFACode,
				ObjectID: a.ObjectID, TenantID: t.TenantID, Admin: a.Admin}
			if a.Admin {
				st.Users[strings.ToLower(a.UPN)].DirectoryRoles = []string{GlobalAdministratorRole}
			}
		}
	}
	if err := s.graph.SeedOperator(op.TenantID, op.ClientID, operatorName, st.OperatorSecret, now.AddDate(2, 0, 0), all, s.opts.OperatorRoles); err != nil {
		return fmt.Errorf("cannot seed the operator app: %w", err)
	}
	return s.setState(st, key)
}

func (s *Sandbox) loadState(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("cannot load state file %q: %w", s.opts.StateFile, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("cannot load state file %q: version %d, want %d", s.opts.StateFile, st.Version, stateVersion)
	}
	k, err := x509.ParsePKCS8PrivateKey(st.SigningKey)
	key, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return fmt.Errorf("cannot load state file %q: bad signing key", s.opts.StateFile)
	}
	if err := s.graph.Restore(st.Graph); err != nil {
		return fmt.Errorf("cannot load state file %q: graph: %w", s.opts.StateFile, err)
	}
	for _, m := range []*map[string]bool{&st.AppMgmtRemoved} {
		if *m == nil {
			*m = map[string]bool{}
		}
	}
	if st.Users == nil {
		st.Users = map[string]*user{}
	}
	if st.Refresh == nil {
		st.Refresh = map[string]*refreshRecord{}
	}
	return s.setState(&st, key)
}

func (s *Sandbox) setState(st *state, key *rsa.PrivateKey) error {
	if st.ActionsRequestToken == "" {
		st.ActionsRequestToken = randomToken(32)
	}
	st.codes = map[string]*authCode{}
	st.tenants = map[string]*tenantInfo{}
	op := &tenantInfo{ID: st.World.Operator.TenantID, Domain: OperatorDomain, Name: "operator"}
	st.tenants[strings.ToLower(op.ID)], st.tenants[op.Domain] = op, op
	for i := range st.World.Tenants {
		t := &st.World.Tenants[i]
		ti := &tenantInfo{ID: t.TenantID, Domain: t.Domain, Name: t.Name, partner: t}
		st.tenants[strings.ToLower(t.TenantID)], st.tenants[strings.ToLower(t.Domain)] = ti, ti
	}
	sg, err := newSigner(key)
	if err != nil {
		return err
	}
	s.signer = sg
	s.st = st
	return s.setUpVaults(st)
}

// saveState writes the state file atomically. Secrets are in it on purpose: it is the
// sandbox's own database, not a uicctl output.
func (s *Sandbox) saveState(path string) error {
	g, err := s.graph.Snapshot()
	if err != nil {
		return fmt.Errorf("cannot save state: graph: %w", err)
	}
	vaults, err := s.vaults.Snapshot()
	if err != nil {
		return fmt.Errorf("cannot save state: vaults: %w", err)
	}
	s.mu.Lock()
	s.st.Graph = g
	s.st.Vaults = vaults
	b, err := json.Marshal(s.st)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cannot save state: %w", err)
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("cannot write state file: %w", err)
	}
	return nil
}

// tenant resolves a tenant ID or domain (case-insensitive). Callers hold s.mu.
func (s *Sandbox) tenant(idOrDomain string) (*tenantInfo, bool) {
	t, ok := s.st.tenants[strings.ToLower(idOrDomain)]
	return t, ok
}

// newClientSecret returns a secret shaped like an Entra one: 40 characters from
// [A-Za-z0-9~._-] with "8Q~" after the three-character hint.
func newClientSecret() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
	b := make([]byte, 37)
	rand.Read(b)
	out := make([]byte, 0, 40)
	for i, c := range b {
		if i == 3 {
			out = append(out, "8Q~"...)
		}
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out[:40])
}
