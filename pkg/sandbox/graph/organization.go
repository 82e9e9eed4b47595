package graph

import (
	"net/http"
	"strings"
)

// permOrgRead is the documented list for organization-get (application permissions).
var permOrgRead = []string{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "User.Read"}

var orgList = listSpec{typ: "organization", resource: "Organization", context: "organization",
	filterable: map[string]bool{"id": true}}

// organizationOf renders the tenant as Graph's organization resource. A CSP partner
// tenant is a reseller partner.
// UNCONFIRMED: partnerTenantType of a sandbox tenant (resellerPartnerDelegatedAdmin is what
// a CSP direct-bill partner shows).
func organizationOf(t *tenant) object {
	o := defaults(types["organization"])
	o["id"] = t.ID
	o["displayName"] = strings.TrimSuffix(t.Domain, ".onmicrosoft.com")
	o["tenantType"] = "AAD"
	o["partnerTenantType"] = "resellerPartnerDelegatedAdmin"
	o["countryLetterCode"] = "US"
	o["verifiedDomains"] = []any{object{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true,
		"isInitial": true, "name": t.Domain, "type": "Managed"}}
	return o
}

// organization serves GET /organization and /organization/{tenant id}.
func (c *ctx) organization() {
	if len(c.segs) > 2 {
		c.badSegment(c.segs[2])
		return
	}
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.allow(permOrgRead) {
		return
	}
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := organizationOf(s.tenants[c.p.TenantID])
	if len(c.segs) == 2 {
		if c.segs[1] != c.p.TenantID {
			c.notFound(c.segs[1])
			return
		}
		var sel []string
		if v, ok := c.r.URL.Query()["$select"]; ok && !c.parseSelect("organization", v[0], &sel) {
			return
		}
		c.json(http.StatusOK, c.entityOut(o, c.base+"/$metadata#organization/$entity", sel))
		return
	}
	q, ok := c.parseQuery(orgList)
	if !ok {
		return
	}
	c.list([]object{o}, orgList, q)
}
