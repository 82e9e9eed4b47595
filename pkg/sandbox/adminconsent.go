package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// serveAdminConsent is the v2 admin consent endpoint, GET /{tenant}/v2.0/adminconsent with
// client_id, scope, redirect_uri and state
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent). The tenant's
// administrator signs in on the same page as /authorize; approving creates the app's service
// principal with what its requiredResourceAccess lists (scope=.default asks for all of it)
// and sends the browser to redirect_uri with admin_consent=True, tenant, scope and state.
// Errors before redirect_uri is trusted are a page; after, they go to redirect_uri.
func (s *Sandbox) serveAdminConsent(w http.ResponseWriter, r *http.Request, seg string) {
	q, ok := s.pageQuery(w, r)
	if !ok {
		return
	}
	if strings.EqualFold(seg, "common") {
		// The page says not to use common: personal accounts cannot consent for a tenant.
		// UNCONFIRMED: the code Entra shows for it.
		s.authorizeErrorPage(w, errInvalidRequest("AADSTS90130: Admin consent requires a tenant or organizations, not common."))
		return
	}
	ar, aerr := s.checkAuthorize(seg, q)
	if aerr != nil {
		s.authorizeErrorPage(w, aerr)
		return
	}
	fail := func(code, desc string) {
		v := url.Values{"error": {code}, "error_description": {desc}}
		if ar.tenant != nil {
			v.Set("tenant", ar.tenant.ID)
		}
		s.authorizeRedirect(w, r, ar, v)
	}
	scope := q.Get("scope")
	if scope == "" {
		fail("invalid_request", errMissingParam("scope").Error())
		return
	}
	tname := seg
	if ar.tenant != nil {
		tname = ar.tenant.ID
	}
	sr, perr := parseScopes(scope, tname)
	if perr != nil {
		fail(perr.err, perr.Error())
		return
	}
	ar.req = sr
	uc, ok := s.signInUser(w, r, ar)
	if !ok {
		return
	}
	tenant, _ := s.tenantOf(uc.TenantID)
	if !uc.Admin {
		// A user who is no administrator is told that only an admin can grant it
		// (troubleshoot-consent-issues lists AADSTS90094 for this).
		// UNCONFIRMED: that the admin consent endpoint redirects it rather than showing it.
		fail("access_denied", fmt.Sprintf("AADSTS90094: %s needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.", ar.app.DisplayName))
		return
	}
	if _, err := s.graph.AdminConsent(tenant.ID, ar.app.AppID); err != nil {
		fail("server_error", "AADSTS50000: There was an error issuing a token or an issue with our sign-in service.")
		return
	}
	s.authorizeRedirect(w, r, ar, url.Values{"admin_consent": {"True"}, "tenant": {tenant.ID}, "scope": {scope}})
}
