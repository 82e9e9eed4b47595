package entra

import (
	"sort"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/useitcloud/uicctl/internal/isoduration"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// PolicyPermission is the Microsoft Graph application permission the operator needs to read
// the app management policies that cap client secret lifetimes (tenantappmanagementpolicy-get
// and application-list-appmanagementpolicies list Policy.Read.All as least privileged).
const PolicyPermission = spec.PermPolicyReadAll

var (
	opReadDefaultPolicy = operation{"read the tenant's default app management policy", PolicyPermission}
	opReadAppPolicy     = operation{"read the application's app management policy", PolicyPermission}
)

// defaultPolicyStep reads the tenant default app management policy, which always exists.
// https://learn.microsoft.com/graph/api/tenantappmanagementpolicy-get
func (o *observation) defaultPolicyStep() *step {
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET,
		"{+baseurl}/policies/defaultAppManagementPolicy", map[string]string{})
	ri.Headers.TryAdd("Accept", "application/json")
	return &step{kind: stepDefaultPolicy, op: opReadDefaultPolicy, ri: ri}
}

// appPolicyStep reads the policy assigned to the app (a list of at most one).
// https://learn.microsoft.com/graph/api/application-list-appmanagementpolicies
// UNCONFIRMED: the appId alternate key on this navigation (the page shows /applications/{id}).
func (o *observation) appPolicyStep(appID string) *step {
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET,
		"{+baseurl}/applications(appId='{appId}')/appManagementPolicies", map[string]string{"appId": appID})
	ri.Headers.TryAdd("Accept", "application/json")
	return &step{kind: stepAppPolicy, op: opReadAppPolicy, ri: ri}
}

// The JSON shapes of the policies (passwordCredentialConfiguration and its holders).
type (
	restrictionJSON struct {
		RestrictionType string     `json:"restrictionType"`
		State           string     `json:"state"`
		MaxLifetime     string     `json:"maxLifetime"`
		CreatedAfter    *time.Time `json:"restrictForAppsCreatedAfterDateTime"`
	}
	restrictionsJSON struct {
		PasswordCredentials []restrictionJSON `json:"passwordCredentials"`
	}
	policyJSON struct {
		ID                      string            `json:"id"`
		DisplayName             string            `json:"displayName"`
		IsEnabled               bool              `json:"isEnabled"`
		Restrictions            *restrictionsJSON `json:"restrictions"`            // appManagementPolicy
		ApplicationRestrictions *restrictionsJSON `json:"applicationRestrictions"` // tenantAppManagementPolicy
	}
)

// readPolicies sets o.out.PasswordPolicy from the default policy step and, when the app
// exists, its assigned policy step: an assigned, enabled policy replaces the tenant default
// ("the application ... adopts this policy over the tenant-wide tenantAppManagementPolicy
// setting"); a restriction counts when its state is enabled and the app (a new one: now)
// was created after its restrictForAppsCreatedAfterDateTime.
func (o *observation) readPolicies(app, def *step, now time.Time) error {
	var chosen *policyJSON
	var source string
	if app != nil {
		var res page[policyJSON]
		if _, err := o.decode(app, &res); err != nil {
			return err
		}
		sort.Slice(res.Value, func(i, j int) bool { return res.Value[i].ID < res.Value[j].ID })
		for i := range res.Value {
			if res.Value[i].IsEnabled {
				chosen = &res.Value[i]
				source = "app management policy \"" + chosen.DisplayName + "\" (" + chosen.ID + ") assigned to the application"
				break
			}
		}
	}
	if chosen == nil && def != nil {
		var d policyJSON
		if _, err := o.decode(def, &d); err != nil {
			return err
		}
		if d.IsEnabled {
			chosen, source = &d, "the tenant's default app management policy"
		}
	}
	if chosen == nil {
		return nil
	}
	r := chosen.Restrictions
	if r == nil {
		r = chosen.ApplicationRestrictions
	}
	if r == nil {
		return nil
	}
	created := now
	if o.out.App != nil && !o.out.App.CreatedDateTime.IsZero() {
		created = o.out.App.CreatedDateTime
	}
	pp := plan.PasswordPolicy{Source: source, ID: chosen.ID}
	for _, rs := range r.PasswordCredentials {
		if rs.State != "" && !strings.EqualFold(rs.State, "enabled") {
			continue
		}
		if rs.CreatedAfter != nil && created.Before(*rs.CreatedAfter) {
			continue
		}
		switch rs.RestrictionType {
		case "passwordAddition":
			pp.Blocked = true
		case "passwordLifetime":
			if d, err := isoduration.Parse(rs.MaxLifetime); err == nil && d > 0 {
				pp.MaxLifetime = d
			}
		}
	}
	if pp.Blocked || pp.MaxLifetime > 0 {
		o.out.PasswordPolicy = &pp
	}
	return nil
}
