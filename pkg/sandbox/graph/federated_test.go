package graph

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFederatedIdentityCredentials(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "ci"})
	if r.status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.status, r.raw)
	}
	id, appID := str(r.body, "id"), str(r.body, "appId")
	base := "/applications/" + id + "/federatedIdentityCredentials"
	gh := map[string]any{"name": "github-main", "issuer": "https://token.actions.githubusercontent.com",
		"subject": "repo:contoso/fleet:ref:refs/heads/main", "audiences": []any{"api://AzureADTokenExchange"}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range gh {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	// The documented example: 201 with the credential and the navigation's context.
	r = f.do("operator", "POST", base, gh)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	ficID := str(r.body, "id")
	want := map[string]any{"@odata.context": f.srv.URL + "/graph/v1.0/$metadata#applications('" + id + "')/federatedIdentityCredentials/$entity",
		"id": ficID, "name": "github-main", "issuer": gh["issuer"], "subject": gh["subject"], "description": nil,
		"audiences": []any{"api://AzureADTokenExchange"}}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("create response (-want +got):\n%s", diff)
	}

	tests := []struct {
		name, reason string
		token        string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"list", "reads need an application read permission", "readonly", "GET", base, nil, 200, ""},
		{"get by id", "items are addressed by id", "operator", "GET", base + "/" + ficID, nil, 200, ""},
		{"get by name", "or by name in the same segment", "operator", "GET", base + "/github-main", nil, 200, ""},
		{"get by name key", "the SDK's (name='…') builder", "operator", "GET", base + "(name='github-main')", nil, 200, ""},
		{"by appId", "the application may be addressed by appId", "operator", "GET", "/applications(appId='" + appID + "')/federatedIdentityCredentials", nil, 200, ""},
		{"unknown item", "404 for a name that is not there", "operator", "GET", base + "/nope", nil, 404, "Request_ResourceNotFound"},
		{"read-only cannot create", "writes need Application.ReadWrite.*", "readonly", "POST", base, with("name", "other"), 403, "Authorization_RequestDenied"},
		{"duplicate name", "name is unique on the app", "operator", "POST", base, with("subject", "repo:contoso/fleet:pull_request"), 409, "Request_MultipleObjectsWithSameKeyValue"},
		{"duplicate issuer and subject", "issuer and subject together are unique", "operator", "POST", base, with("name", "again"), 409, "Request_MultipleObjectsWithSameKeyValue"},
		{"two audiences", "audiences takes a single value", "operator", "POST", base, with("audiences", []any{"a", "b"}), 400, "Request_BadRequest"},
		{"no subject", "subject is required", "operator", "POST", base, with("subject", nil), 400, "Request_BadRequest"},
		{"name not URL friendly", "the name must be URL friendly", "operator", "POST", base, with("name", "a b"), 400, "Request_BadRequest"},
		{"unknown property", "the model's properties only", "operator", "POST", base, with("claimsMatchingExpression", "x"), 400, "BadRequest"},
		{"rename", "the name is immutable", "operator", "PATCH", base + "/" + ficID, map[string]any{"name": "renamed"}, 400, "Request_BadRequest"},
		{"patch subject", "other properties may change", "operator", "PATCH", base + "/" + ficID, map[string]any{"subject": "repo:contoso/fleet:environment:prod"}, 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.token, tc.method, tc.path, tc.body)
			if diff := cmp.Diff([]any{tc.status, tc.code}, []any{r.status, errCode(r)}); diff != "" {
				t.Errorf("%s (-want +got):\n%s\n%s", tc.reason, diff, r.raw)
			}
		})
	}

	got := f.svc.FederatedCredentials(appID)
	wantFC := []FederatedCredential{{Name: "github-main", Issuer: "https://token.actions.githubusercontent.com",
		Subject: "repo:contoso/fleet:environment:prod", Audiences: []string{"api://AzureADTokenExchange"}}}
	if diff := cmp.Diff(wantFC, got); diff != "" {
		t.Errorf("FederatedCredentials after PATCH (-want +got):\n%s", diff)
	}
	if r := f.do("operator", "DELETE", base+"/github-main", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if got := f.svc.FederatedCredentials(appID); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
}

func TestFederatedIdentityCredentialLimit(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "ci"})
	base := "/applications/" + str(r.body, "id") + "/federatedIdentityCredentials"
	for i := range maxFederatedCredentials + 1 {
		r := f.do("operator", "POST", base, map[string]any{"name": "c" + string(rune('a'+i)), "issuer": "https://issuer.example",
			"subject": "s" + string(rune('a'+i)), "audiences": []any{"api://AzureADTokenExchange"}})
		want := http.StatusCreated
		if i == maxFederatedCredentials {
			want = http.StatusBadRequest // documented maximum of 20 per application
		}
		if r.status != want {
			t.Fatalf("credential %d: %d, want %d: %s", i+1, r.status, want, r.raw)
		}
	}
}
