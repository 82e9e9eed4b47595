package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// RevokeRefreshTokens revokes every refresh token of the account issued before now, as
// "revoke sessions" in Entra does (the next refresh gets AADSTS50173).
func (s *Sandbox) RevokeRefreshTokens(upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.Users[strings.ToLower(upn)]
	if !ok {
		return fmt.Errorf("unknown account %q", upn)
	}
	u.TokensValidFrom = s.now()
	return nil
}

// SetMFA turns MFA on or off for an account. Sign-ins without MFA give tokens without the
// mfa claim; while MFA is on, refresh tokens obtained without it get AADSTS50076.
func (s *Sandbox) SetMFA(upn string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.Users[strings.ToLower(upn)]
	if !ok {
		return fmt.Errorf("unknown account %q", upn)
	}
	u.MFAOff = !on
	return nil
}

// SetAppManagement registers or unregisters an app in Partner Center App management of a
// partner tenant. Apps are registered unless removed.
func (s *Sandbox) SetAppManagement(tenant, appID string, registered bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenant(tenant)
	if !ok {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	key := t.ID + "/" + strings.ToLower(appID)
	if registered {
		delete(s.st.AppMgmtRemoved, key)
	} else {
		s.st.AppMgmtRemoved[key] = true
	}
	return nil
}

// SetDefaultAppManagementPolicy sets a partner tenant's default app management policy
// (Graph's tenantAppManagementPolicy JSON: isEnabled, applicationRestrictions, ...), as an
// admin would in the Entra admin center; addPassword then enforces it.
func (s *Sandbox) SetDefaultAppManagementPolicy(tenant string, policy []byte) error {
	s.mu.Lock()
	t, ok := s.tenant(tenant)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	return s.graph.SetDefaultAppManagementPolicy(t.ID, policy)
}

func (s *Sandbox) appRegistered(tenantID, appID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.st.AppMgmtRemoved[tenantID+"/"+strings.ToLower(appID)]
}

// FlushRequestLog writes buffered request log lines to the file.
func (s *Sandbox) FlushRequestLog() error {
	if s.log == nil {
		return nil
	}
	return s.log.flush()
}

// maxAdminBody bounds an admin API request body (1 MiB).
const maxAdminBody = 1 << 20

// serveAdmin is the admin API under /_sandbox/ on the sandbox's own host. It has no
// authentication: the sandbox listens on loopback only.
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sandbox/"), "/"), "/")
	// No admin request needs more than a few hundred bytes: a larger body is refused (413)
	// rather than read into memory.
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	fail := func(status int, err error) {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			status, err = http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes", mbe.Limit)
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
	done := func(err error) {
		if err != nil {
			fail(http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	switch {
	case r.Method == http.MethodGet && len(p) == 1 && p[0] == "world":
		writeJSON(w, http.StatusOK, s.World())
	case r.Method == http.MethodGet && len(p) == 1 && p[0] == "faults":
		writeJSON(w, http.StatusOK, s.Faults())
	case (r.Method == http.MethodPut || r.Method == http.MethodPatch) && len(p) == 1 && p[0] == "faults":
		// PUT replaces all faults; PATCH changes only the keys present.
		f := s.Faults()
		if r.Method == http.MethodPut {
			f = Faults{}
		}
		var patch map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
			fail(http.StatusBadRequest, fmt.Errorf("invalid JSON: %w", err))
			return
		}
		cur, _ := json.Marshal(f)
		var merged map[string]json.RawMessage
		json.Unmarshal(cur, &merged)
		for k, v := range patch {
			merged[k] = v
		}
		b, _ := json.Marshal(merged)
		var nf Faults
		if err := json.Unmarshal(b, &nf); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		if err := s.SetFaults(nf); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	case (r.Method == http.MethodGet || r.Method == http.MethodPatch) && len(p) == 1 && p[0] == "actions":
		// The GitHub Actions issuer's job: PATCH {"subject": "...", "tokenLifetime": "2s"}.
		if r.Method == http.MethodPatch {
			var body struct {
				Subject       string `json:"subject"`
				TokenLifetime string `json:"tokenLifetime"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				fail(http.StatusBadRequest, fmt.Errorf(`body must be {"subject": "...", "tokenLifetime": "DURATION"}`))
				return
			}
			var d time.Duration
			if body.TokenLifetime != "" {
				var err error
				if d, err = ParseDuration(body.TokenLifetime); err != nil || d <= 0 {
					fail(http.StatusBadRequest, fmt.Errorf("tokenLifetime: want a positive duration such as 2s"))
					return
				}
			}
			if err := s.SetActionsJob(body.Subject, d); err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
		}
		sub, life := s.ActionsJob()
		reqURL, _ := s.ActionsTokenRequest()
		writeJSON(w, http.StatusOK, map[string]string{"issuer": s.ActionsIssuer(), "requestUrl": reqURL,
			"subject": sub, "tokenLifetime": life.String()})
	case r.Method == http.MethodPost && len(p) == 3 && p[0] == "accounts" && p[2] == "revoke":
		done(s.RevokeRefreshTokens(p[1]))
	case r.Method == http.MethodPatch && len(p) == 2 && p[0] == "accounts":
		// {"mfa": true|false} and/or {"directoryRoles": ["<role template ID>", ...]}.
		var body struct {
			MFA   *bool     `json:"mfa"`
			Roles *[]string `json:"directoryRoles"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || (body.MFA == nil && body.Roles == nil) {
			fail(http.StatusBadRequest, fmt.Errorf(`body must be {"mfa": true|false} or {"directoryRoles": ["<role template ID>", ...]}`))
			return
		}
		if body.Roles != nil {
			if err := s.SetDirectoryRoles(p[1], *body.Roles); err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
		}
		if body.MFA != nil {
			done(s.SetMFA(p[1], *body.MFA))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPut && len(p) == 3 && p[0] == "tenants" && p[2] == "defaultAppManagementPolicy":
		// The tenant default app management policy, as Graph's tenantAppManagementPolicy JSON.
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = s.SetDefaultAppManagementPolicy(p[1], b)
		}
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case (r.Method == http.MethodPut || r.Method == http.MethodDelete) && len(p) == 4 && p[0] == "tenants" && p[2] == "appManagement":
		done(s.SetAppManagement(p[1], p[3], r.Method == http.MethodPut))
	case r.Method == http.MethodPost && len(p) == 1 && p[0] == "signin":
		// The user at the browser, for shell demos: sign in and follow the redirect.
		var body struct {
			URL string `json:"url"`
			UPN string `json:"upn"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.URL == "" || body.UPN == "" {
			fail(http.StatusBadRequest, fmt.Errorf(`body must be {"url": "<authorize URL>", "upn": "<account>"}`))
			return
		}
		if strings.Contains(body.URL, "/v2.0/adminconsent?") {
			// Its redirect URI is Microsoft's page, out of reach: say where it leads instead.
			loc, err := s.SignIn(r.Context(), body.URL, body.UPN)
			if err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"location": loc})
			return
		}
		if err := s.Browse(r.Context(), body.URL, body.UPN); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPut && len(p) == 3 && p[0] == "tenants" && p[2] == "vaultRoles":
		// The operator's roles on the tenant's vault: PUT {"roles": ["Key Vault Secrets Officer", ...]}.
		var body struct {
			Roles []string `json:"roles"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Roles == nil {
			fail(http.StatusBadRequest, fmt.Errorf(`body must be {"roles": ["Key Vault Secrets Officer", ...]} ([] for none)`))
			return
		}
		if err := s.SetOperatorVaultRoles(p[1], body.Roles); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && len(p) == 2 && p[0] == "requests" && p[1] == "flush":
		done(s.FlushRequestLog())
	case r.Method == http.MethodPost && len(p) == 2 && p[0] == "state" && p[1] == "save":
		if s.opts.StateFile == "" {
			fail(http.StatusConflict, fmt.Errorf("the sandbox was started without --state"))
			return
		}
		if err := s.saveState(s.opts.StateFile); err != nil {
			fail(http.StatusInternalServerError, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

// GlobalAdministratorRole is the template ID of Global Administrator
// (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const GlobalAdministratorRole = "62e90394-69f5-4237-9190-012177145e10"

var roleIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// SetDirectoryRoles replaces the active directory roles (template IDs) of an account, as an
// assignment in Entra does; its next user tokens carry them in wids.
func (s *Sandbox) SetDirectoryRoles(upn string, roles []string) error {
	for _, r := range roles {
		if !roleIDRE.MatchString(r) {
			return fmt.Errorf("directory role %q is not a role template ID", r)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.Users[strings.ToLower(upn)]
	if !ok {
		return fmt.Errorf("unknown account %q", upn)
	}
	u.DirectoryRoles = slices.Clone(roles)
	return nil
}

// azureCLIClientID is the Azure CLI's first-party client ID (UNCONFIRMED in Microsoft's
// docs; it is what az's own source signs in with).
const azureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// UserAccessToken mints the access token `az account get-access-token --resource RESOURCE`
// would print for an account after az login: a test seam for the Azure CLI, which the
// sandbox cannot run. The token is the one the authorization code flow gives the account
// (same claims, wids included) for the Azure CLI's client.
func (s *Sandbox) UserAccessToken(upn, resourceID string) (string, time.Time, error) {
	res, ok := findResource(resourceID)
	if !ok {
		return "", time.Time{}, fmt.Errorf("unknown resource %q", resourceID)
	}
	cu, err := s.userCopy(upn)
	if err != nil {
		return "", time.Time{}, err
	}
	at, exp := s.accessToken(tokenClaims{base: s.URL(), tenant: cu.TenantID, res: res, audience: res.uri, appID: azureCLIClientID,
		oid: cu.ObjectID, scopes: []string{"Directory.AccessAsUser.All"}, user: &cu, mfa: !cu.MFAOff})
	return at, exp, nil
}

// userCopy returns a copy of an account's state, taken under the lock.
func (s *Sandbox) userCopy(upn string) (user, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.Users[strings.ToLower(upn)]
	if !ok {
		return user{}, fmt.Errorf("unknown account %q", upn)
	}
	return *u, nil
}
