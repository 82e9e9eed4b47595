package scrub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/internal/canary"
)

func TestTextRemovesKnownInEveryForm(t *testing.T) {
	var set canary.Set
	secret := set.Plant("clientSecret")
	verifier := set.Plant("pkceVerifier")
	Known(secret, verifier, "", "short")
	jsonQuoted, _ := json.Marshal(secret)
	tests := map[string]struct {
		reason string
		text   string
	}{
		"clear":        {"as sent", "AADSTS7000215: Invalid client secret provided: " + secret},
		"form body":    {"a token request reflected", "body: grant_type=client_credentials&client_sec=" + url.QueryEscape(secret) + "&x=1"},
		"path":         {"path escaping keeps + and ~", "GET /v1/" + url.PathEscape(verifier) + "/x"},
		"lower escape": {"a server that writes %2f", "q=" + strings.ReplaceAll(url.QueryEscape(secret), "%2B%2F", "%2b%2f")},
		"basic":        {"a Basic header at an odd alignment", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("ab:"+secret))},
		"basic 2":      {"alignment two", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("a:"+secret))},
		"base64url":    {"an unpadded URL encoding", base64.RawURLEncoding.EncodeToString([]byte(secret))},
		"json":         {"JSON inside JSON", `{"error_description":"got ` + string(jsonQuoted) + `"}`},
		"go quoted":    {"%q of the text", fmt.Sprintf("%q", "x"+secret)},
		"hex":          {"%x", fmt.Sprintf("%x", secret)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Text(tc.text)
			if leaks := set.Scan(name, []byte(got)); len(leaks) != 0 {
				t.Errorf("%s: %s\ngot %q", tc.reason, canary.Report(leaks), got)
			}
			if !strings.Contains(got, Redacted) {
				t.Errorf("%s: nothing redacted in %q", tc.reason, got)
			}
		})
	}
	if got := Text("short and sweet"); got != "short and sweet" {
		t.Errorf("a value shorter than MinKnown was registered: %q", got)
	}
}

func TestTextShapesAndKeeps(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoiLCJhdWQiOiJ5In0.c2lnbmF0dXJlLXBhcnQ"
	entra := "abc8Q~" + strings.Repeat("k", 34)
	rt := "1.AQEA" + strings.Repeat("x_Y-9", 30)
	tests := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"aadsts kept": {
			reason: "codes, trace and correlation ids and timestamps are what a user reports",
			in:     "AADSTS700082: The refresh token has expired. Trace ID: 0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70\r\nCorrelation ID: 6a1d7c3e-2b4f-4e89-8c5d-1f0a9b7e3d24\r\nTimestamp: 2026-12-04 05:19:28Z",
			want:   "AADSTS700082: The refresh token has expired. Trace ID: 0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70\nCorrelation ID: 6a1d7c3e-2b4f-4e89-8c5d-1f0a9b7e3d24\nTimestamp: 2026-12-04 05:19:28Z",
		},
		"status kept":   {"an HTTP status and request id", "403 Forbidden (request-id 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a)", "403 Forbidden (request-id 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a)"},
		"jwt":           {"an access token, signature too", "token " + jwt + " rejected", "token [redacted] rejected"},
		"entra secret":  {"a client secret pasted in a message", `secret "` + entra + `" is invalid`, `secret "[redacted]" is invalid`},
		"refresh token": {"a refresh token shape", "rt=" + rt, "rt=[redacted]"},
		"form params":   {"a reflected form body with unknown values", "grant_type=refresh_token&refresh_token=opaqueValue123&client_id=0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70&code_verifier=abcDEF123", "grant_type=refresh_token&refresh_token=[redacted]&client_id=0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70&code_verifier=[redacted]"},
		"json params":   {"reflected JSON", `{"client_secret":"abc","password":"p4ss"}`, `{"client_secret":"[redacted]","password":"[redacted]"}`},
		"code in query": {"an authorization code in a callback URL", "http://localhost:8400/?code=0.AAAzzz&state=s1", "http://localhost:8400/?code=[redacted]&state=s1"},
		"code prose":    {"error code= in prose is kept", "error code=Authorization_RequestDenied", "error code=Authorization_RequestDenied"},
		"bearer":        {"an opaque bearer token", "Authorization: Bearer opaque.Value-123", "Authorization: Bearer [redacted]"},
		"basic prose":   {"the word basic in prose", "Basic authentication is disabled", "Basic authentication is disabled"},
		"sas":           {"a SAS URL's signature", "https://x.blob.core.windows.net/c/b?sv=2022&sig=AbC%2Bdef%3D&se=2026", "https://x.blob.core.windows.net/c/b?sv=2022&sig=[redacted]&se=2026"},
		"escape seq":    {"a terminal escape sequence", "bad\x1b[2J\x1b]0;owned\x07 request", `bad\x1b[2J\x1b]0;owned\x07 request`},
		"c1 and bidi":   {"C1 CSI and a right-to-left override", "a\u009b31mb\u202ec", `a\u009b31mb\u202ec`},
		"lone cr":       {"a carriage return rewrites the line", "ok\rFAKE", `ok\x0dFAKE`},
		"invalid utf8":  {"bytes that are not UTF-8", "a\xffb", "a\uFFFDb"},
		"pem":           {"a private key block", "x -----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY----- y", "x [redacted] y"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Text(tc.in)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestShape(t *testing.T) {
	tests := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"guid":   {"a GUID is an id, not a secret", "0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70", ""},
		"upn":    {"an account", "admin@contoso.onmicrosoft.com", ""},
		"secret": {"an Entra client secret", "abc8Q~" + strings.Repeat("k", 34), "an Entra client secret"},
		"jwt":    {"a JWT without its signature still counts", "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.", "a token"},
		"rt":     {"a refresh token", "0.A" + strings.Repeat("a", 90), "a refresh token"},
		"inside": {"Shape judges the whole value", "my secret is abc8Q~" + strings.Repeat("k", 34), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _ := Shape(tc.in)
			if got != tc.want {
				t.Errorf("%s: Shape = %q, want %q", tc.reason, got, tc.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	if got, want := Line("a\nb\tc\x1b"), `a\nb\tc\x1b`; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}

func TestKnownAfterText(t *testing.T) {
	a, b := "first-known-value-1234", "second-known-value-5678"
	Known(a)
	if got := Text(a + " " + b); got != Redacted+" "+b {
		t.Errorf("Text = %q", got)
	}
	Known(b)
	if got := Text(a + " " + b); got != Redacted+" "+Redacted {
		t.Errorf("after a second Known, Text = %q", got)
	}
	// The longest form at a position wins: the value, not a prefix of it that is known too.
	Known("second-known")
	if got := Text("x" + b + "y"); got != "x"+Redacted+"y" {
		t.Errorf("longest match: Text = %q", got)
	}
}

func TestKnownConcurrent(t *testing.T) {
	done := make(chan bool)
	for i := range 8 {
		go func() {
			v := fmt.Sprintf("concurrent-value-%d-xyz", i)
			Known(v)
			if got := Text(v); got != Redacted {
				t.Errorf("Text(%q) = %q", v, got)
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
}

// BenchmarkText is a usual error text with a fleet's worth of known credentials (200
// tenants: secret, refresh token and four access tokens each).
func BenchmarkText(b *testing.B) {
	var set canary.Set
	for i := range 1200 {
		Known(set.Plant(fmt.Sprint("v", i)))
	}
	msg := "AADSTS700082: The refresh token has expired due to inactivity. Trace ID: 0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70 Correlation ID: 6a1d7c3e-2b4f-4e89-8c5d-1f0a9b7e3d24 Timestamp: 2026-12-04 05:19:28Z"
	for b.Loop() {
		Text(msg)
	}
}

// BenchmarkKnownThenText: a verify run registers a token, then reports a check, tenant after
// tenant; registering must not make the next Text pay for all earlier values.
func BenchmarkKnownThenText(b *testing.B) {
	var set canary.Set
	i := 0
	for b.Loop() {
		Known(set.Plant(fmt.Sprint("w", i)))
		Text("partner center answered 401: The token is expired.")
		i++
	}
}
