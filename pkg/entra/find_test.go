package entra_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
)

// TestFindApplications looks apps up by exact display name in the sandbox: quotes in the
// name are escaped, other names and prefixes do not match, results are sorted by appId.
func TestFindApplications(t *testing.T) {
	e := start(t, 1)
	c := e.client(entra.Options{})
	mk := func(name string) entra.AppSummary {
		a := e.graph(e.tenant, "POST", "/applications", map[string]any{"displayName": name})
		return entra.AppSummary{ObjectID: str(a, "id"), AppID: str(a, "appId"), DisplayName: name}
	}
	one := mk("O'Brien app")
	x, y := mk("twin"), mk("twin")
	mk("twin too")
	if y.AppID < x.AppID {
		x, y = y, x
	}
	for _, tc := range []struct {
		name, reason string
		query        string
		want         []entra.AppSummary
	}{
		{"quote", "a quote in the name is escaped in the filter", "O'Brien app", []entra.AppSummary{one}},
		{"several", "two apps share the name; a longer name is not a match", "twin", []entra.AppSummary{x, y}},
		{"none", "no app has the name", "nobody", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.FindApplications(context.Background(), e.tenant, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%s: (-want +got)\n%s", tc.reason, d)
			}
		})
	}
}
