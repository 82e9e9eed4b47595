package spec

import (
	"net/url"
	"strings"
)

// NormalizeRedirectURI checks a web redirect URI against Entra's rules and returns it in the
// form Entra stores, so that "http://localhost:8400" and "http://localhost:8400/" compare
// equal. On failure it returns a message and a hint instead.
func NormalizeRedirectURI(s string) (norm, msg, hint string) {
	if len(s) > 256 {
		return "", "redirect URI is longer than 256 characters", "Entra limits a redirect URI to 256 characters"
	}
	if strings.Contains(s, "*") {
		return "", "redirect URI contains a wildcard", "Entra does not accept wildcards in web redirect URIs; list each URI"
	}
	if strings.HasPrefix(s, "urn:") {
		return "", "not a web redirect URI", "urn:ietf:wg:oauth:2.0:oob belongs to public clients; the consent uses http://localhost:8400/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", "not an absolute URI", "write a full URI such as http://localhost:8400/"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "", "redirect URI has a fragment", "remove the #... part"
	}
	if u.User != nil {
		return "", "redirect URI has user information", "remove the user@ part"
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	switch scheme {
	case "https":
	case "http":
		// Entra accepts plain http only for loopback addresses (reply-url.md). The IPv6
		// loopback [::1] is documented as not supported.
		if host != "localhost" && host != "127.0.0.1" {
			return "", "http is allowed only for localhost", "use https, or http://localhost:<port>/ for the consent listener"
		}
	default:
		return "", "redirect URI scheme must be https (or http for localhost)", "use https://... or http://localhost:8400/"
	}
	if host == "::1" {
		return "", "the IPv6 loopback [::1] is not supported by Entra", "use http://localhost:<port>/"
	}
	u.Scheme = scheme
	u.Host = strings.ToLower(u.Host)
	if u.Path == "" {
		// Entra returns a URI without a path with a trailing slash (reply-url.md).
		u.Path = "/"
	}
	return u.String(), "", ""
}
