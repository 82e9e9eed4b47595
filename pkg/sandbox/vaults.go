package sandbox

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
)

// operatorVaultRoles are the roles the operator's service principal holds on every tenant's
// vault: the secrets uicctl delivers, and the sops key it wraps data keys with.
var operatorVaultRoles = []string{keyvault.SecretsOfficer, keyvault.CryptoOfficer}

// setUpVaults restores the vaults of the state file, and creates each partner tenant's vault
// that is not there yet with its sops key and the operator's roles.
func (s *Sandbox) setUpVaults(st *state) error {
	s.vaults = keyvault.New(keyvault.Options{Authenticate: s.authenticateVault, Now: s.now})
	if len(st.Vaults) > 0 {
		if err := s.vaults.Restore(st.Vaults); err != nil {
			return fmt.Errorf("cannot load the vaults of the state file: %w", err)
		}
	}
	op := st.World.Operator
	for i := range st.World.Tenants {
		t := &st.World.Tenants[i]
		if t.KeyVault.Name == "" {
			t.KeyVault = vaultFor(t.Name)
		}
		if s.vaults.Has(t.KeyVault.Name) {
			continue
		}
		if err := s.vaults.AddVault(t.KeyVault.Name, t.TenantID); err != nil {
			return err
		}
		if _, err := s.vaults.CreateKey(t.KeyVault.Name, "sops"); err != nil {
			return err
		}
		if spID, ok := s.graph.ServicePrincipal(t.TenantID, op.ClientID); ok {
			if err := s.vaults.SetRoles(t.KeyVault.Name, spID, operatorVaultRoles); err != nil {
				return err
			}
		}
	}
	return nil
}

// Vaults returns the Key Vault emulation, for tests that inspect it.
func (s *Sandbox) Vaults() *keyvault.Service { return s.vaults }

// SetOperatorVaultRoles sets the roles the operator holds on the vault of tenant (a name,
// ID or domain); tests take them away to see 403 ForbiddenByRbac.
func (s *Sandbox) SetOperatorVaultRoles(tenant string, roles []string) error {
	s.mu.Lock()
	t, ok := s.tenant(tenant)
	for _, ti := range s.st.tenants {
		if ti.partner != nil && ti.Name == tenant {
			t, ok = ti, true
		}
	}
	op := s.st.World.Operator.ClientID
	s.mu.Unlock()
	if !ok || t.partner == nil {
		return errors.New("no partner tenant " + tenant)
	}
	spID, ok := s.graph.ServicePrincipal(t.ID, op)
	if !ok {
		return errors.New("the operator has no service principal in " + tenant)
	}
	return s.vaults.SetRoles(t.partner.KeyVault.Name, spID, roles)
}

// authenticateVault is keyvault.Options.Authenticate over the sandbox's token check.
func (s *Sandbox) authenticateVault(r *http.Request) (keyvault.Principal, error) {
	res, _ := findResource(keyvault.Resource)
	p, err := s.verify(r, res)
	switch {
	case err == nil:
		return keyvault.Principal{TenantID: p.TenantID, ObjectID: p.ObjectID, AppID: p.AppID}, nil
	case errors.Is(err, errNoToken):
		return keyvault.Principal{}, keyvault.ErrNoToken
	case errors.Is(err, errTokenExpired):
		return keyvault.Principal{}, keyvault.ErrExpired
	case errors.Is(err, errBadAudience):
		return keyvault.Principal{}, keyvault.ErrBadAudience
	}
	return keyvault.Principal{}, keyvault.ErrBadToken
}

// proxiedHost reports whether the sandbox answers for host when a client reaches it
// through the proxy: a vault of the world, or login.microsoftonline.com (instance discovery
// only, for clients that cannot turn it off).
func (s *Sandbox) proxiedHost(hostport string) bool {
	if "https://"+hostport == s.url {
		return true // the sandbox itself, for clients that proxy loopback too
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != "443" {
		return false
	}
	host = strings.ToLower(host)
	if host == discoveryHost {
		return true
	}
	if !keyvault.IsVaultHost(host) {
		return false
	}
	name := strings.TrimSuffix(host, keyvault.DNSSuffix)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.World.Tenants {
		if strings.EqualFold(t.KeyVault.Name, name) {
			return true
		}
	}
	return false
}

// serveConnect is the sandbox's HTTPS proxy (HTTPS_PROXY in the env file): a CONNECT to a
// vault host is answered by the sandbox itself, with a certificate for *.vault.azure.net from
// its CA, so that clients use the real vault URLs, the real challenge resource and keep the
// SDKs' check that the challenge resource matches the vault host. Any other host is refused:
// nothing leaves the machine.
func (s *Sandbox) serveConnect(w http.ResponseWriter, r *http.Request) {
	if !s.proxiedHost(r.Host) {
		// What a client sees for a vault name that does not resolve, or a host the sandbox
		// does not serve.
		http.Error(w, "the uicctl sandbox proxies only its own vaults (https://NAME.vault.azure.net); set NO_PROXY for "+r.Host, http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	var c net.Conn = conn
	if buf.Reader.Buffered() > 0 {
		c = &bufferedConn{Conn: conn, r: buf.Reader}
	}
	if !s.tunnels.inject(tls.Server(c, s.srv.TLSConfig)) {
		conn.Close()
	}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// tunnelListener is the server's listener plus the connections tunnelled through CONNECT,
// so one http.Server (with its shutdown) serves both.
type tunnelListener struct {
	net.Listener
	conns  chan net.Conn
	errs   chan error
	closed chan struct{}
	once   sync.Once
}

func newTunnelListener(ln net.Listener) *tunnelListener {
	tl := &tunnelListener{Listener: ln, conns: make(chan net.Conn), errs: make(chan error, 1), closed: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				tl.errs <- err
				return
			}
			if !tl.inject(c) {
				c.Close()
				return
			}
		}
	}()
	return tl
}

func (tl *tunnelListener) Accept() (net.Conn, error) {
	select {
	case c := <-tl.conns:
		return c, nil
	case err := <-tl.errs:
		return nil, err
	case <-tl.closed:
		return nil, net.ErrClosed
	}
}

func (tl *tunnelListener) inject(c net.Conn) bool {
	select {
	case tl.conns <- c:
		return true
	case <-tl.closed:
		return false
	}
}

func (tl *tunnelListener) Close() error {
	tl.once.Do(func() { close(tl.closed) })
	return tl.Listener.Close()
}

// discoveryHost is where MSAL asks about an authority it does not know (instance
// discovery), unless the client turns it off (azidentity's DisableInstanceDiscovery).
const discoveryHost = "login.microsoftonline.com"

// serveInstanceDiscovery answers GET /common/discovery/instance?api-version=1.1&
// authorization_endpoint=... for the sandbox's own authority: the tenant discovery endpoint
// (its OpenID metadata) and one metadata entry naming the sandbox host. Tools that use
// azidentity's default credential chain (sops) cannot disable discovery. The response shape
// is the one MSAL parses (InstanceDiscoveryResponse in microsoft-authentication-library-
// for-go, apps/internal/oauth/ops/authority). UNCONFIRMED: Entra answers invalid_instance
// (AADSTS50049) for an authority host it does not know; the sandbox knows its own.
func (s *Sandbox) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/common/discovery/instance" {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "error_description": "The sandbox serves only instance discovery at login.microsoftonline.com."})
		return
	}
	ep := r.URL.Query().Get("authorization_endpoint")
	host := strings.TrimPrefix(s.url, "https://")
	rest, ok := strings.CutPrefix(ep, s.url+"/")
	tenant, _, _ := strings.Cut(rest, "/")
	if !ok || tenant == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_instance",
			"error_description": "AADSTS50049: Unknown or invalid instance.", "error_codes": []int{50049}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.url + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []map[string]any{{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
	})
}
