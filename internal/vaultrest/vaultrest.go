package vaultrest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// APIVersion is the REST version the requests name.
const APIVersion = "7.5"

// TokenFunc returns an access token for tenant and scope (resource + "/.default").
type TokenFunc func(ctx context.Context, tenant, scope string) (string, error)

// Client does Key Vault requests with the challenge flow.
type Client struct {
	HTTP  *http.Client
	Token TokenFunc
}

// Response is a Key Vault answer.
type Response struct {
	Status int
	Body   []byte
	// Challenged reports whether the request went through a 401 challenge first.
	Challenged bool
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

var challengeRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// Challenge parses a WWW-Authenticate Bearer challenge into the tenant (last segment of
// authorization) and the resource.
func Challenge(h string) (tenant, resource string, err error) {
	rest, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", "", fmt.Errorf("not a Bearer challenge: %q", h)
	}
	vals := map[string]string{}
	for _, m := range challengeRE.FindAllStringSubmatch(rest, -1) {
		vals[m[1]] = m[2]
	}
	u, err := url.Parse(vals["authorization"])
	if err != nil || u.Path == "" || vals["resource"] == "" {
		return "", "", fmt.Errorf("challenge without authorization or resource: %q", h)
	}
	return strings.Trim(u.Path, "/"), vals["resource"], nil
}

// Do sends method vaultURL+path (api-version added) with body (JSON, or nil): first without
// a token, then, after the 401 challenge, with a token for the tenant and resource it names.
func (c *Client) Do(ctx context.Context, method, vaultURL, path string, body any) (*Response, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	u := strings.TrimSuffix(vaultURL, "/") + path + "?api-version=" + APIVersion
	send := func(token string) (*http.Response, error) {
		var rd io.Reader
		if raw != nil {
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return c.HTTP.Do(req)
	}
	resp, err := send("")
	if err != nil {
		return nil, err
	}
	out := &Response{}
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		tenant, resource, err := Challenge(resp.Header.Get("WWW-Authenticate"))
		if err != nil {
			return nil, err
		}
		tok, err := c.Token(ctx, tenant, strings.TrimSuffix(resource, "/")+"/.default")
		if err != nil {
			return nil, fmt.Errorf("token for %s in %s: %w", resource, tenant, err)
		}
		if resp, err = send(tok); err != nil {
			return nil, err
		}
		out.Challenged = true
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	out.Body, err = io.ReadAll(resp.Body)
	return out, err
}
