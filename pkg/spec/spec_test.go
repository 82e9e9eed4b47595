package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const minimal = "apiVersion: uicctl/v1\nkind: Partner\nname: contoso\ntenantId: 6F0E3C3A-1B2C-4D5E-8F90-123456789ABC\n"

func TestParseDefaults(t *testing.T) {
	cases := map[string]struct {
		reason string
		yaml   string
		want   func(p *Partner)
	}{
		"Minimal": {
			reason: "a minimal spec reproduces the documented manual procedure",
			yaml:   minimal,
			want:   func(p *Partner) {},
		},
		"RedirectNormalised": {
			reason: "Entra stores a path-less URI with a trailing slash and lower-case scheme and host",
			yaml:   minimal + "application:\n  redirectUris: [HTTP://LocalHost:8400, https://UIC.example.com/Call/Back]\n",
			want: func(p *Partner) {
				p.Application.RedirectURIs = []string{"http://localhost:8400/", "https://uic.example.com/Call/Back"}
			},
		},
		"AdoptByAppID": {
			reason: "appId adopts an app, so no uniqueName is defaulted",
			yaml:   minimal + "application:\n  appId: 9A8B7C6D-5E4F-4A3B-2C1D-0E9F8A7B6C5D\n",
			want: func(p *Partner) {
				p.Application.UniqueName = ""
				p.Application.AppID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
			},
		},
		"PermissionsByNameAndID": {
			reason: "aliases accept permission values case-insensitively and IDs; raw APIs take IDs",
			yaml: minimal + "application:\n  permissions:\n    - api: microsoft-graph\n      delegated: [user.read]\n      application: [7c3e1994-38ff-4412-a99b-9369f6bb7706]\n" +
				"    - api: 11111111-2222-3333-4444-555555555555\n      application: [AAAAAAAA-2222-3333-4444-555555555555]\n",
			want: func(p *Partner) {
				p.Application.Permissions = []Permission{
					{API: "microsoft-graph", ResourceAppID: MicrosoftGraphAppID,
						Delegated:   []PermScope{{ID: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", Value: "User.Read"}},
						Application: []PermScope{{ID: "7c3e1994-38ff-4412-a99b-9369f6bb7706", Value: "PartnerBilling.Read.All"}}},
					{API: "11111111-2222-3333-4444-555555555555", ResourceAppID: "11111111-2222-3333-4444-555555555555",
						Application: []PermScope{{ID: "aaaaaaaa-2222-3333-4444-555555555555"}}},
				}
			},
		},
		"EmptyPermissions": {
			reason: "an explicit empty list means no permissions, not the defaults",
			yaml:   minimal + "application:\n  permissions: []\n  adminConsent: false\n",
			want: func(p *Partner) {
				p.Application.Permissions = []Permission{}
				p.Application.AdminConsent = false
			},
		},
		"Durations": {
			reason: "durations take days or hours",
			yaml:   minimal + "application:\n  clientSecret: {lifetime: 48h, renewBefore: 1d}\npartnerCenter:\n  consent: {maxAge: 90d}\n",
			want: func(p *Partner) {
				p.Application.ClientSecret.Lifetime = Duration(48 * time.Hour)
				p.Application.ClientSecret.RenewBefore = days(1)
				p.PartnerCenter.Consent.MaxAge = days(90)
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, diags := Parse("partner.yaml", []byte(tc.yaml))
			if len(diags) > 0 {
				t.Fatalf("%s\nParse: unexpected diagnostics %v", tc.reason, diags)
			}
			want := &Partner{
				APIVersion: APIVersion, Kind: Kind, Name: "contoso", TenantID: "6f0e3c3a-1b2c-4d5e-8f90-123456789abc",
				Application: Application{
					DisplayName: DefaultDisplayName, UniqueName: "uicctl-contoso", SignInAudience: DefaultAudience,
					RedirectURIs: []string{"http://localhost:8400/"},
					Permissions: []Permission{
						{API: "partner-center", ResourceAppID: PartnerCenterAppID, Delegated: []PermScope{{ID: PartnerCenterUserImpersonate, Value: "user_impersonation"}}},
						{API: "microsoft-partner", ResourceAppID: MicrosoftPartnerAppID, Delegated: []PermScope{{ID: "eabf9ef3-1f9e-f3da-19a1-bcd60d080567", Value: "user_impersonation"}}},
					},
					AdminConsent: true,
					ClientSecret: ClientSecret{DisplayName: "uicctl", Lifetime: days(180), RenewBefore: days(30)},
				},
				PartnerCenter: PartnerCenter{AppManagement: "registered", Consent: Consent{MaxAge: days(60)}},
				Verify:        Verify{Usage: "auto", Currency: "USD"},
				Secrets:       "secrets.sops.yaml",
			}
			tc.want(want)
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Partner{}, "Positions")); diff != "" {
				t.Errorf("%s\nParse(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestNormalizeRedirectURI(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string // "" when refused
	}{
		"AddsSlash":       {"Entra returns a path-less URI with /", "http://localhost:8400", "http://localhost:8400/"},
		"Loopback":        {"127.0.0.1 is loopback too", "http://127.0.0.1:8400/cb", "http://127.0.0.1:8400/cb"},
		"KeepsPathCase":   {"paths are case-sensitive", "https://Example.com/Cb", "https://example.com/Cb"},
		"KeepsQuery":      {"a query is allowed", "https://example.com/cb?x=1", "https://example.com/cb?x=1"},
		"HTTPRemote":      {"http only for localhost", "http://example.com/", ""},
		"Fragment":        {"no fragment", "https://example.com/#x", ""},
		"EmptyFragment":   {"even an empty one", "https://example.com/#", ""},
		"Wildcard":        {"no wildcard", "https://*.example.com/", ""},
		"Relative":        {"absolute only", "/callback", ""},
		"OOB":             {"public-client URN", "urn:ietf:wg:oauth:2.0:oob", ""},
		"IPv6":            {"[::1] not supported", "http://[::1]:8400/", ""},
		"TooLong":         {"256 characters", "https://example.com/" + strings.Repeat("a", 237), ""},
		"LongestAccepted": {"exactly 256 is fine", "https://example.com/" + strings.Repeat("a", 236), "https://example.com/" + strings.Repeat("a", 236)},
		"Userinfo":        {"no user info", "https://u@example.com/", ""},
		"FTP":             {"scheme", "ftp://example.com/", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, msg, _ := NormalizeRedirectURI(tc.in)
			if tc.want == "" && msg == "" {
				t.Errorf("%s\nNormalizeRedirectURI(%q) = %q, want a refusal", tc.reason, tc.in, got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nNormalizeRedirectURI(%q): -want, +got:\n%s", tc.reason, tc.in, diff)
			}
		})
	}
}

// TestHostileInputBounded feeds inputs built to exhaust a parser. Each must be refused
// within a second and with bounded memory (issue acceptance: < 1 s, < 100 MB).
func TestHostileInputBounded(t *testing.T) {
	bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i := 'b'; i <= 'z'; i++ {
		prev := string(i - 1)
		bomb += fmt.Sprintf("%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	cases := map[string]struct {
		reason string
		data   []byte
	}{
		"AliasBomb":  {"billion laughs: 9^26 nodes if expanded", []byte(bomb)},
		"DeepFlow":   {"deep flow nesting", []byte(strings.Repeat("[", MaxFileSize-10))},
		"DeepBlock":  {"deep block nesting", []byte(strings.Repeat("- ", 20000) + "x\n")},
		"Huge":       {"larger than any spec", make([]byte, 64<<20)},
		"Binary":     {"binary garbage", []byte("\x7fELF\x02\x01\x01\x00" + strings.Repeat("\xff\xfe", 1000))},
		"LongScalar": {"one very long scalar", []byte("name: " + strings.Repeat("x", MaxFileSize-20))},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			p, diags := Parse("partner.yaml", tc.data)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if p != nil || len(diags) == 0 {
				t.Errorf("%s: Parse accepted hostile input", tc.reason)
			}
			if elapsed > time.Second {
				t.Errorf("%s: Parse took %v, want < 1s", tc.reason, elapsed)
			}
			// TotalAlloc bounds the peak heap from above.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
				t.Errorf("%s: Parse allocated %d MB, want < 100 MB", tc.reason, alloc>>20)
			}
		})
	}
}

func TestShardsPartitionAndStay(t *testing.T) {
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%03d", i)
	}
	for _, n := range []int{1, 2, 3, 7} {
		owner := map[string]int{}
		for k := 1; k <= n; k++ {
			s := Shard{K: k, N: n}
			for _, name := range names {
				if s.Contains(name) {
					if prev, dup := owner[name]; dup {
						t.Fatalf("N=%d: %s is in shard %d and %d", n, name, prev, k)
					}
					owner[name] = k
				}
			}
		}
		if len(owner) != len(names) {
			t.Errorf("N=%d: %d of %d tenants in some shard, want all", n, len(owner), len(names))
		}
		// Adding tenants moves no existing one: membership depends on the name alone.
		for _, name := range names {
			for k := 1; k <= n; k++ {
				if (Shard{K: k, N: n}).Contains(name) != (owner[name] == k) {
					t.Fatalf("N=%d: shard of %s is not stable", n, name)
				}
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   Shard
		ok     bool
	}{
		"Valid":    {"K/N", "2/4", Shard{2, 4}, true},
		"One":      {"1/1 selects all", "1/1", Shard{1, 1}, true},
		"KTooBig":  {"K <= N", "5/4", Shard{}, false},
		"Zero":     {"K >= 1", "0/4", Shard{}, false},
		"NotShard": {"needs a slash", "2", Shard{}, false},
		"Words":    {"numbers only", "a/b", Shard{}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseShard(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("%s\nParseShard(%q): err %v, want ok=%v", tc.reason, tc.in, err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParseShard(%q): -want, +got:\n%s", tc.reason, tc.in, diff)
			}
		})
	}
}

func writeFleet(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	for i := range n {
		d := filepath.Join(dir, "tenants", fmt.Sprintf("t%04d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		spec := fmt.Sprintf("apiVersion: uicctl/v1\nkind: Partner\nname: t%04d\ntenantId: 6f0e3c3a-1b2c-4d5e-8f90-%012d\n"+
			"application:\n  redirectUris: [http://localhost:8400]\n  permissions:\n    - api: partner-center\n      delegated: [user_impersonation]\n"+
			"    - api: microsoft-partner\n      delegated: [user_impersonation]\n  clientSecret: {lifetime: 365d, renewBefore: 30d}\n"+
			"partnerCenter:\n  consent: {account: svc@t%04d.onmicrosoft.com, maxAge: 60d}\nverify: {usage: unbilled, currency: EUR}\n", i, i+1, i)
		if err := os.WriteFile(filepath.Join(d, "partner.yaml"), []byte(spec), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestLoadFleet(t *testing.T) {
	dir := writeFleet(t, 3)
	dup := filepath.Join(dir, "tenants", "copy")
	os.MkdirAll(dup, 0o755)
	b, _ := os.ReadFile(filepath.Join(dir, "tenants", "t0001", "partner.yaml"))
	os.WriteFile(filepath.Join(dup, "partner.yaml"), []byte(strings.Replace(string(b), "tenantId: 6f0e3c3a-1b2c-4d5e-8f90-000000000002", "tenantId: 6f0e3c3a-1b2c-4d5e-8f90-000000000099", 1)), 0o644)
	os.MkdirAll(filepath.Join(dir, ".git", "x"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "x", "partner.yaml"), []byte("junk"), 0o644)

	files, err := Discover([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	want := []string{"tenants/copy/partner.yaml", "tenants/t0000/partner.yaml", "tenants/t0001/partner.yaml", "tenants/t0002/partner.yaml"}
	if diff := cmp.Diff(want, rel); diff != "" {
		t.Errorf("Discover: sorted, hidden folders skipped: -want, +got:\n%s", diff)
	}
	f := LoadFleet(files, 4)
	if f.Errors() != 1 || !strings.Contains(f.Diagnostics[0].Message, `name "t0001" is also used by `) ||
		!strings.HasSuffix(f.Diagnostics[0].Message, filepath.Join("tenants", "copy", "partner.yaml")) {
		t.Errorf("LoadFleet: want one duplicate-name error naming both files, got %v", f.Diagnostics)
	}
	// The later file in path order carries the error and names the first.
	if d := f.Diagnostics[0]; d.File != files[2] || d.Line != 3 || d.Column != 7 || d.Path != "name" {
		t.Errorf("LoadFleet: duplicate name reported at %s:%d:%d %s, want %s:3:7 name", d.File, d.Line, d.Column, d.Path, files[2])
	}
}

// BenchmarkValidateFleet loads and validates a generated fleet of 1,000 tenants.
func BenchmarkValidateFleet(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			dir := writeFleet(b, n)
			b.ReportAllocs()
			for b.Loop() {
				files, err := Discover([]string{dir})
				if err != nil {
					b.Fatal(err)
				}
				if f := LoadFleet(files, 8); f.Errors() != 0 {
					b.Fatal(f.Diagnostics)
				}
			}
		})
	}
}
