package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// SignIn plays a user at a browser: it opens authorizeURL (an authorize or admin consent
// URL of this sandbox), submits the sign-in form as upn with the account's password and MFA code, and
// returns where the browser is sent next (redirect_uri with code and state, or with an
// error). It does not follow that redirect. An account with MFA off signs in without a code.
func (s *Sandbox) SignIn(ctx context.Context, authorizeURL, upn string) (string, error) {
	uc, err := s.userCopy(upn)
	if err != nil {
		return "", err
	}
	au, err := url.Parse(authorizeURL)
	if err != nil || !strings.HasPrefix(authorizeURL, s.url+"/") || !(strings.HasSuffix(au.Path, "/oauth2/v2.0/authorize") || strings.HasSuffix(au.Path, "/v2.0/adminconsent")) {
		return "", fmt.Errorf("not an authorize or admin consent URL of this sandbox")
	}
	if q := au.Query(); q.Get("response_mode") != "" && q.Get("response_mode") != "query" {
		return "", fmt.Errorf("only response_mode=query can be followed")
	}
	hc := s.selfClient()
	page, err := get(ctx, hc, authorizeURL)
	if err != nil {
		return "", err
	}
	if page.loc != "" {
		return page.loc, nil // an error redirect before the form (e.g. prompt=none)
	}
	if !strings.Contains(page.body, `name="passwd"`) {
		return "", fmt.Errorf("sign-in failed: %s", pageError(page.body))
	}
	otc := ""
	if !uc.MFAOff {
		otc = uc.MFACode
	}
	form := url.Values{"ctx": {au.RawQuery}, "login": {uc.UPN}, "passwd": {uc.Password}, "otc": {otc}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+au.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := do(hc, req)
	if err != nil {
		return "", err
	}
	if res.loc == "" {
		return "", fmt.Errorf("sign-in failed: %s", pageError(res.body))
	}
	return res.loc, nil
}

// Browse is SignIn followed by the browser's request to the redirect URI, for example
// uicctl consent's loopback listener. It fits a "open the browser" hook in tests.
func (s *Sandbox) Browse(ctx context.Context, authorizeURL, upn string) error {
	loc, err := s.SignIn(ctx, authorizeURL, upn)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the redirect URI: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

func (s *Sandbox) selfClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(s.caCert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	body, loc string
}

func get(ctx context.Context, hc *http.Client, u string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return page{}, err
	}
	return do(hc, req)
}

func do(hc *http.Client, req *http.Request) (page, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := page{body: string(b)}
	if resp.StatusCode == http.StatusFound {
		p.loc = resp.Header.Get("Location")
	}
	return p, nil
}

var errorPara = regexp.MustCompile(`<p id="error"[^>]*>([^<]*)</p>`)

func pageError(body string) string {
	if m := errorPara.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return errors.New("unexpected page").Error()
}
