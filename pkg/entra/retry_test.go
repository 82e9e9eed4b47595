package entra

import (
	"errors"
	"fmt"
	"testing"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

func odataError(status int, code, msg string) error {
	e := odataerrors.NewODataError()
	e.ResponseStatusCode = status
	m := odataerrors.NewMainError()
	m.SetCode(&code)
	m.SetMessage(&msg)
	e.SetErrorEscaped(m)
	return e
}

func TestReplicationLagClassifier(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		err          error
		want         bool
	}{
		{"app not visible", "404 right after create", odataError(404, "Request_ResourceNotFound", "Resource 'x' does not exist or one of its queried reference-property objects are not present."), true},
		{"404 without body", "kiota's ApiError for a bare 404", &abs.ApiError{ResponseStatusCode: 404}, true},
		{"sp of unreplicated app", "documented 400", odataError(400, "Request_BadRequest", "The appId 'x' of the service principal does not reference a valid application object."), true},
		{"grant client", "grant naming a principal not yet visible", odataError(400, "Request_BadRequest", "Invalid value specified for property 'clientId' of resource 'OAuth2PermissionGrant'."), true},
		{"grant resource", "", odataError(400, "Request_BadRequest", "Invalid value specified for property 'resourceId' of resource 'OAuth2PermissionGrant'."), true},
		{"assignment principal", "", odataError(400, "Request_BadRequest", "Invalid value specified for property 'principalId' of resource 'AppRoleAssignment'."), true},
		{"conflict", "409 while replicating", odataError(409, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property uniqueName already exists."), true},
		{"own finding", "a listed-yet-missing grant", fmt.Errorf("wrapped: %w", errNotReplicated), true},
		{"bad property", "a real 400 is final", odataError(400, "Request_BadRequest", "Invalid value specified for property 'signInAudience' of resource 'Application'."), false},
		{"forbidden", "403 is final", odataError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), false},
		{"throttled", "kiota already retried 429", odataError(429, "TooManyRequests", "Too many requests"), false},
		{"network", "not a Graph answer", errors.New("connection reset"), false},
		{"nil", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := replicationLag(tc.err); got != tc.want {
				t.Errorf("replicationLag = %v, want %v (%s)", got, tc.want, tc.reason)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := range 40 {
		d := min(backoffBase<<min(attempt, 10), backoffCap)
		for range 50 {
			if got := backoff(attempt); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, got, d/2, d)
			}
		}
	}
	if backoff(30) > time.Second {
		t.Error("backoff exceeds its 1 s cap")
	}
}
