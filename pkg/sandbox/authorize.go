package sandbox

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// The sign-in page: one form with account, password and MFA code. Field names follow the
// real page (login, passwd, otc) so scripts read naturally.
var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<h1>Sign in</h1>
<p>{{.App}} wants to access {{.Resource}} on your behalf.</p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="ctx" value="{{.Ctx}}">
<label>Account <input type="email" name="login" value="{{.Login}}" autocomplete="username"></label>
<label>Password <input type="password" name="passwd" autocomplete="current-password"></label>
<label>MFA code <input type="text" name="otc" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p id="error">{{.}}</p>
</body></html>
`))

var formPostPage = template.Must(template.New("formpost").Parse(`<!DOCTYPE html>
<html><head><title>Working...</title></head>
<body onload="document.forms[0].submit()">
<form method="POST" action="{{.Action}}">{{range $k, $v := .Fields}}
<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>
`))

// authRequest is a validated authorize request.
type authRequest struct {
	q           url.Values
	tenant      *tenantInfo // nil for common/organizations
	app         graph.App
	redirectURI string
	req         scopeRequest
}

// redirectMatches applies Entra's rule: exact match, except that the port of an http
// localhost URI is ignored; a URI without a path matches one stored with "/".
func redirectMatches(registered []string, uri string) bool {
	want, err := url.Parse(uri)
	if err != nil || want.Scheme == "" {
		return false
	}
	norm := func(u *url.URL, ignorePort bool) string {
		host := strings.ToLower(u.Host)
		if ignorePort {
			host = strings.ToLower(u.Hostname())
		}
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		return strings.ToLower(u.Scheme) + "://" + host + p + "?" + u.RawQuery
	}
	loopback := want.Scheme == "http" && (want.Hostname() == "localhost" || want.Hostname() == "127.0.0.1")
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil {
			continue
		}
		if norm(ru, loopback) == norm(want, loopback) {
			return true
		}
	}
	return false
}

// checkAuthorize validates what must be checked before anything is sent to redirect_uri.
// An error here is shown as a page, never redirected (the redirect URI is not trusted yet).
func (s *Sandbox) checkAuthorize(seg string, q url.Values) (authRequest, *aadError) {
	ar := authRequest{q: q}
	t, ok := s.tenantOf(seg)
	if !ok {
		return ar, errTenantNotFound(seg)
	}
	ar.tenant = t
	clientID := q.Get("client_id")
	if clientID == "" {
		return ar, errMissingParam("client_id")
	}
	app, ok := s.graph.FindApp(clientID)
	if !ok {
		name := seg
		if t != nil {
			name = t.ID
		}
		return ar, errAppNotFound(clientID, name)
	}
	ar.app = app
	ar.redirectURI = q.Get("redirect_uri")
	if !redirectMatches(app.RedirectURIs, ar.redirectURI) {
		return ar, errRedirectMismatch(ar.redirectURI, clientID)
	}
	return ar, nil
}

// pageQuery returns the parameters of a sign-in page request: the query of the GET, or the
// request the sign-in form carries in ctx when it posts back.
func (s *Sandbox) pageQuery(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), true
	}
	if err := r.ParseForm(); err != nil {
		s.authorizeErrorPage(w, errInvalidRequest("The request is malformed."))
		return nil, false
	}
	if !r.PostForm.Has("ctx") {
		return r.PostForm, true
	}
	q, err := url.ParseQuery(r.PostForm.Get("ctx"))
	if err != nil {
		s.authorizeErrorPage(w, errInvalidRequest("The request is malformed."))
		return nil, false
	}
	return q, true
}

func (s *Sandbox) serveAuthorize(w http.ResponseWriter, r *http.Request, seg string, v1 bool) {
	q, ok := s.pageQuery(w, r)
	if !ok {
		return
	}
	if v1 && q.Get("resource") != "" {
		// v1 names one resource and always returns refresh tokens; the scope parameter only
		// matters for openid.
		q.Set("scope", strings.TrimSuffix(q.Get("resource"), "/")+"/.default openid offline_access")
	}
	ar, aerr := s.checkAuthorize(seg, q)
	if aerr != nil {
		s.authorizeErrorPage(w, aerr)
		return
	}
	// From here on errors go back to the (now trusted) redirect URI.
	rt := q.Get("response_type")
	// The v1 flow of the Partner Center docs asks for "code id_token" with form_post.
	hybrid := v1 && (rt == "code id_token" || rt == "id_token code")
	if rt != "code" && !hybrid {
		// The sandbox issues codes only; implicit and hybrid flows are refused the way an app
		// without implicit grant settings is.
		s.authorizeRedirect(w, r, ar, url.Values{"error": {"unsupported_response_type"},
			"error_description": {fmt.Sprintf("AADSTS700054: response_type '%s' is not enabled for the application.", rt)}})
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "" && m != "S256" && m != "plain" {
		// UNCONFIRMED: the number and text Entra uses for an unknown code_challenge_method.
		s.authorizeRedirect(w, r, ar, url.Values{"error": {"invalid_request"},
			"error_description": {"AADSTS501491: Invalid code_challenge_method parameter."}})
		return
	}
	if q.Get("scope") == "" {
		s.authorizeRedirect(w, r, ar, url.Values{"error": {"invalid_request"},
			"error_description": {"AADSTS900144: The request body must contain the following parameter: 'scope'."}})
		return
	}
	tname := seg
	if ar.tenant != nil {
		tname = ar.tenant.ID
	}
	sr, aerr := parseScopes(q.Get("scope"), tname)
	if aerr != nil {
		s.authorizeRedirect(w, r, ar, url.Values{"error": {aerr.err}, "error_description": {aerr.Error()}})
		return
	}
	ar.req = sr
	if q.Get("prompt") == "none" {
		// The sandbox keeps no browser session, so silent sign-in always needs interaction.
		s.authorizeRedirect(w, r, ar, url.Values{"error": {"login_required"},
			"error_description": {"AADSTS50058: A silent sign-in request was sent but no user is signed in."}})
		return
	}
	uc, ok := s.signInUser(w, r, ar)
	if !ok {
		return
	}
	login, mfa := strings.ToLower(uc.UPN), !uc.MFAOff
	tenant, _ := s.tenantOf(uc.TenantID)
	if tenant.ID != ar.app.TenantID {
		if _, ok := s.graph.ServicePrincipal(tenant.ID, ar.app.AppID); !ok || ar.app.SignInAudience == "AzureADMyOrg" {
			aerr := errNoConsent(ar.app.AppID, ar.app.DisplayName)
			s.authorizeRedirect(w, r, ar, url.Values{"error": {"consent_required"}, "error_description": {aerr.Error()}})
			return
		}
	}
	if _, aerr := s.consented(tenant.ID, ar.app, &uc, sr); aerr != nil {
		s.authorizeRedirect(w, r, ar, url.Values{"error": {"consent_required"}, "error_description": {aerr.Error()}})
		return
	}
	code := "1.A" + randomToken(48)
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method == "" {
		method = "plain" // RFC 7636: plain is the default method
	}
	s.mu.Lock()
	s.st.codes[code] = &authCode{tenant: tenant.ID, clientID: ar.app.AppID, redirectURI: ar.redirectURI,
		challenge: q.Get("code_challenge"), method: method, nonce: q.Get("nonce"), req: sr, upn: login, mfa: mfa, issued: s.now()}
	s.pruneCodesLocked()
	s.mu.Unlock()
	v := url.Values{"code": {code}, "session_state": {newGUID()}}
	if hybrid {
		v.Set("id_token", s.idToken(baseURL(r), tenant.ID, ar.app.AppID, &uc, q.Get("nonce")))
	}
	s.authorizeRedirect(w, r, ar, v)
}

// signInUser shows the sign-in form, or checks the account, password and MFA code it
// posted against ar's tenant. It reports false when it answered with the form (again, with
// Entra's message after a failure).
func (s *Sandbox) signInUser(w http.ResponseWriter, r *http.Request, ar authRequest) (user, bool) {
	if r.Method != http.MethodPost || !r.PostForm.Has("login") {
		s.signInForm(w, r, ar, ar.q.Get("login_hint"), "", http.StatusOK)
		return user{}, false
	}
	if echoRequested(r) {
		// The echo fault: the submitted sign-in (password and MFA code included) comes back
		// in error_description, the way uicctl's callback page receives a remote error.
		s.authorizeRedirect(w, r, ar, url.Values{"error": {"invalid_request"},
			"error_description": {"AADSTS900144: The request body must contain the following parameter: " + echoText(r, r.PostForm.Encode())}})
		return user{}, false
	}
	login := strings.ToLower(strings.TrimSpace(r.PostForm.Get("login")))
	s.mu.Lock()
	u := s.st.Users[login]
	var uc user
	if u != nil {
		uc = *u
	}
	s.mu.Unlock()
	if u == nil || r.PostForm.Get("passwd") != uc.Password {
		s.signInForm(w, r, ar, login, "AADSTS50126: Error validating credentials due to invalid username or password.", http.StatusOK)
		return uc, false
	}
	if ar.tenant != nil && ar.tenant.ID != uc.TenantID {
		s.signInForm(w, r, ar, login, fmt.Sprintf("AADSTS50020: User account '%s' from identity provider does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant.", uc.UPN, ar.tenant.Domain, ar.app.AppID, ar.app.DisplayName), http.StatusOK)
		return uc, false
	}
	if !uc.MFAOff {
		otc := strings.TrimSpace(r.PostForm.Get("otc"))
		if otc == "" {
			s.signInForm(w, r, ar, login, "Enter the code displayed in your authenticator app.", http.StatusOK)
			return uc, false
		}
		if otc != uc.MFACode {
			s.signInForm(w, r, ar, login, "You didn't enter the expected verification code. Please try again.", http.StatusOK)
			return uc, false
		}
	}
	return uc, true
}

// pruneCodesLocked drops codes past their life, so abandoned sign-ins do not accumulate.
func (s *Sandbox) pruneCodesLocked() {
	now := s.now()
	for k, c := range s.st.codes {
		if now.Sub(c.issued) > 2*codeLifetime {
			delete(s.st.codes, k)
		}
	}
}

func (s *Sandbox) signInForm(w http.ResponseWriter, r *http.Request, ar authRequest, login, msg string, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	signInPage.Execute(w, map[string]string{
		"App": ar.app.DisplayName, "Resource": ar.req.res.name, "Error": msg, "Login": login,
		"Action": r.URL.Path, "Ctx": ar.q.Encode(),
	})
}

func (s *Sandbox) authorizeErrorPage(w http.ResponseWriter, e *aadError) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(e.status)
	errorPage.Execute(w, e.Error())
}

// authorizeRedirect sends the result to redirect_uri with the request's state, in the
// requested response mode.
func (s *Sandbox) authorizeRedirect(w http.ResponseWriter, r *http.Request, ar authRequest, v url.Values) {
	if st := ar.q.Get("state"); st != "" {
		v.Set("state", st)
	}
	switch ar.q.Get("response_mode") {
	case "form_post":
		fields := map[string]string{}
		for k := range v {
			fields[k] = v.Get(k)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		formPostPage.Execute(w, map[string]any{"Action": ar.redirectURI, "Fields": fields})
	case "fragment":
		http.Redirect(w, r, ar.redirectURI+"#"+v.Encode(), http.StatusFound)
	default:
		sep := "?"
		if strings.Contains(ar.redirectURI, "?") {
			sep = "&"
		}
		http.Redirect(w, r, ar.redirectURI+sep+v.Encode(), http.StatusFound)
	}
}
