package partnercenter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

// TestClientCredentialsErrors feeds the token client Entra's documented error body and
// checks the AADSTS code is found and explained, without the secret in the message.
func TestClientCredentialsErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		status int
		body   string
		want   *SignInError
	}{
		"WrongSecret": {
			reason: "AADSTS7000215 from error_codes and the description",
			status: 401,
			body:   `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2 Timestamp: 2026-11-26 10:00:00Z","error_codes":[7000215],"trace_id":"1"}`,
			want:   &SignInError{Code: "invalid_client", AADSTS: "7000215", Description: "Invalid client secret provided.", Status: 401},
		},
		"Expired": {
			reason: "AADSTS7000222",
			status: 401,
			body:   `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app 'x' are expired.","error_codes":[7000222]}`,
			want:   &SignInError{Code: "invalid_client", AADSTS: "7000222", Description: "The provided client secret keys for app 'x' are expired.", Status: 401},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var form string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				form = r.PostForm.Encode()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := cloud.Cloud{Login: srv.URL + "/"}
			err := ClientCredentials(context.Background(), srv.Client(), c, "tenant-1", "client-1", "hunter2-secret", "https://graph.microsoft.com")
			se, ok := err.(*SignInError)
			if !ok {
				t.Fatalf("%s\nerror %T %v, want *SignInError", tc.reason, err, err)
			}
			if diff := cmp.Diff(tc.want, se); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
			if strings.Contains(se.Error()+se.Hint(), "hunter2") {
				t.Errorf("%s\nthe secret is in the error: %s", tc.reason, se.Error())
			}
			if !strings.Contains(form, "client_id=client-1") || !strings.Contains(form, "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default") {
				t.Errorf("%s\nthe request must carry client_id and the .default scope in the body: %s", tc.reason, form)
			}
		})
	}
}
