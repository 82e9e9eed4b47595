package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

func days(n int) Duration { return Duration(time.Duration(n) * 24 * time.Hour) }

// partner decodes the document root. Every field starts at its default; a key that is
// present replaces it.
func (d *decoder) partner(doc *yaml.Node) *Partner {
	p := &Partner{
		Application: Application{
			DisplayName:    DefaultDisplayName,
			SignInAudience: DefaultAudience,
			RedirectURIs:   []string{DefaultRedirectURI},
			Permissions:    defaultPermissions(),
			AdminConsent:   true,
			ClientSecret:   ClientSecret{DisplayName: DefaultSecretName, Lifetime: DefaultLifetime, RenewBefore: DefaultRenewBefore},
		},
		PartnerCenter: PartnerCenter{AppManagement: DefaultAppManagement, Consent: Consent{MaxAge: DefaultConsentAge}},
		Verify:        Verify{Usage: DefaultUsage, Currency: DefaultCurrency},
		Secrets:       DefaultSecretsFile,
	}
	var uniqueNameSet bool
	seen := d.mapping(doc, "", []field{
		d.apiVersion(p), d.kind(p, Kind, "write kind: Partner"),
		{"name", func(v *yaml.Node, kp string) {
			if s, ok := d.str(v, kp); ok {
				if !nameRE.MatchString(s) {
					d.add(v, kp, "use lower-case letters, digits and dashes, at most 63, such as contoso-eu", "invalid name")
				}
				p.Name = s
			}
		}},
		{"tenantId", func(v *yaml.Node, kp string) {
			if s, ok := d.guid(v, kp, "the Microsoft ID from Partner Center > Organization profile"); ok {
				p.TenantID = strings.ToLower(s)
			}
		}},
		{"application", func(v *yaml.Node, kp string) { uniqueNameSet = d.application(v, kp, &p.Application) }},
		{"partnerCenter", func(v *yaml.Node, kp string) { d.partnerCenter(v, kp, &p.PartnerCenter) }},
		{"verify", func(v *yaml.Node, kp string) { d.verify(v, kp, &p.Verify) }},
		{"delivery", func(v *yaml.Node, kp string) { d.delivery(v, kp, p) }},
		{"secrets", func(v *yaml.Node, kp string) {
			if s, ok := d.str(v, kp); ok {
				if msg := checkSecretsPath(s); msg != "" {
					d.add(v, kp, "name a file inside the tenant's folder, such as secrets.sops.yaml", "%s", msg)
				}
				p.Secrets = s
			}
		}},
	})
	for _, req := range []string{"apiVersion", "kind", "name", "tenantId"} {
		if _, ok := seen[req]; !ok && doc.Kind == yaml.MappingNode {
			d.add(doc, req, requiredHint(req), "missing required key %q", req)
		}
	}
	if !uniqueNameSet && p.Application.AppID == "" && p.Name != "" {
		p.Application.UniqueName = "uicctl-" + p.Name
	}
	d.finishDelivery(p)
	p.Positions = d.pos
	if p.Verify.Usage == "billing-export" {
		d.billingExportPermission(p)
	}
	return p
}

// apiVersion and kind decode the header keys every spec file starts with.
func (d *decoder) apiVersion(p *Partner) field {
	return field{"apiVersion", func(v *yaml.Node, kp string) {
		if s, ok := d.str(v, kp); ok {
			if s != APIVersion {
				d.add(v, kp, fmt.Sprintf("this uicctl reads apiVersion %s", APIVersion), "unsupported apiVersion")
			}
			p.APIVersion = s
		}
	}}
}

func (d *decoder) kind(p *Partner, want, hint string) field {
	return field{"kind", func(v *yaml.Node, kp string) {
		if s, ok := d.str(v, kp); ok {
			if s != want {
				d.add(v, kp, hint, "unsupported kind")
			}
			p.Kind = s
		}
	}}
}

// PartnerBillingGrant reports whether the spec grants Microsoft Graph's
// PartnerBilling.Read.All as an application permission (with admin consent, so apply
// grants it) and as a delegated one: what verify.usage auto and billing-export need.
func (p *Partner) PartnerBillingGrant() (application, delegated bool) {
	g, _ := LookupAPI(MicrosoftGraphAppID)
	role, _ := findScope(g.Application, PartnerBillingReadAll)
	scope, _ := findScope(g.Delegated, PartnerBillingReadAll)
	for _, perm := range p.Application.Permissions {
		if perm.ResourceAppID != MicrosoftGraphAppID {
			continue
		}
		application = application || slices.ContainsFunc(perm.Application, func(ps PermScope) bool { return ps.ID == role.ID })
		delegated = delegated || slices.ContainsFunc(perm.Delegated, func(ps PermScope) bool {
			return ps.ID == scope.ID || strings.EqualFold(ps.Value, PartnerBillingReadAll)
		})
	}
	return application && p.Application.AdminConsent, delegated
}

// PartnerBillingLines is the partner.yaml text, one line in YAML flow style, that grants
// PartnerBilling.Read.All: the entry to add to application.permissions when the spec writes
// them, or else the whole key with the default permissions kept.
func (p *Partner) PartnerBillingLines() string {
	const graph = "{api: microsoft-graph, application: [PartnerBilling.Read.All]}"
	if p.PosOf("application.permissions").Line > 0 {
		return "add " + graph + " to application.permissions"
	}
	var defaults []string
	for _, perm := range defaultPermissions() {
		var vals []string
		for _, d := range perm.Delegated {
			vals = append(vals, d.Value)
		}
		defaults = append(defaults, fmt.Sprintf("{api: %s, delegated: [%s]}", perm.API, strings.Join(vals, ", ")))
	}
	return "add under application: permissions: [" + strings.Join(append(defaults, graph), ", ") + "]"
}

// billingExportPermission warns when verify.usage: billing-export cannot work with the
// permissions the spec grants: verify exports with the app's app-only token when the
// application permission is granted, else with a delegated token of the consent account,
// so the app needs Microsoft Graph's PartnerBilling.Read.All either way. A warning, not an
// error: the spec is consistent, and an admin may grant the permission outside uicctl;
// verify's usage check has the last word.
func (d *decoder) billingExportPermission(p *Partner) {
	application, delegated := p.PartnerBillingGrant()
	if application || delegated {
		return
	}
	msg := "billing-export needs the Microsoft Graph permission PartnerBilling.Read.All, which application.permissions does not list"
	hint := p.PartnerBillingLines() + " and run uicctl apply"
	if !p.Application.AdminConsent && slices.ContainsFunc(p.Application.Permissions, func(perm Permission) bool {
		return perm.ResourceAppID == MicrosoftGraphAppID && len(perm.Application) > 0
	}) {
		msg = "billing-export needs PartnerBilling.Read.All granted, and adminConsent is false: apply will not grant it"
		hint = "set adminConsent: true, or have an admin grant consent to the app in the Entra admin center"
	}
	at := d.pos["verify.usage"]
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: at.Line, Column: at.Column, Path: "verify.usage",
		Severity: SeverityWarning, Message: msg, Hint: hint})
}

func requiredHint(key string) string {
	switch key {
	case "apiVersion":
		return "add apiVersion: " + APIVersion
	case "kind":
		return "add kind: " + Kind
	case "name":
		return "add name: <tenant name>, unique in the fleet, such as contoso"
	default:
		return "add tenantId: <GUID>, the Microsoft ID from Partner Center > Organization profile"
	}
}

func (d *decoder) guid(v *yaml.Node, kp, what string) (string, bool) {
	s, ok := d.str(v, kp)
	if !ok {
		return "", false
	}
	if !guidRE.MatchString(s) {
		d.add(v, kp, "write a GUID such as 6f0e3c3a-1b2c-4d5e-8f90-123456789abc: "+what, "not a GUID")
		return "", false
	}
	if strings.Trim(s, "0-") == "" {
		d.add(v, kp, what, "the all-zero GUID is not an ID")
		return "", false
	}
	return s, true
}

func (d *decoder) application(n *yaml.Node, kp string, a *Application) (uniqueNameSet bool) {
	var uniqueNode, appIDNode *yaml.Node
	d.mapping(n, kp, []field{
		{"displayName", func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok {
				// UNCONFIRMED: the documented limit is not stated on the application page; the
				// portal refuses names longer than 120 characters.
				if len([]rune(s)) > 120 {
					d.add(v, p, "shorten it to 120 characters or fewer", "displayName is too long")
				}
				a.DisplayName = s
			}
		}},
		{"uniqueName", func(v *yaml.Node, p string) {
			uniqueNode = v
			if s, ok := d.str(v, p); ok {
				if !uniqueNameRE.MatchString(s) {
					d.add(v, p, "use letters, digits, '.', '_' and '-' only, at most 120", "invalid uniqueName")
				}
				a.UniqueName = s
				uniqueNameSet = true
			}
		}},
		{"appId", func(v *yaml.Node, p string) {
			appIDNode = v
			if s, ok := d.guid(v, p, "the Application (client) ID of the app to adopt"); ok {
				a.AppID = strings.ToLower(s)
			}
		}},
		{"signInAudience", func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, SignInAudiences); ok {
				a.SignInAudience = s
			}
		}},
		{"redirectUris", func(v *yaml.Node, p string) { a.RedirectURIs = d.redirectURIs(v, p) }},
		{"permissions", func(v *yaml.Node, p string) { a.Permissions = d.permissions(v, p) }},
		{"adminConsent", func(v *yaml.Node, p string) {
			if b, ok := d.boolean(v, p); ok {
				a.AdminConsent = b
			}
		}},
		{"preconsent", func(v *yaml.Node, p string) {
			if b, ok := d.boolean(v, p); ok {
				a.Preconsent = b
			}
		}},
		{"prune", func(v *yaml.Node, p string) {
			if b, ok := d.boolean(v, p); ok {
				a.Prune = b
			}
		}},
		{"clientSecret", func(v *yaml.Node, p string) { d.clientSecret(v, p, &a.ClientSecret) }},
	})
	if uniqueNode != nil && appIDNode != nil {
		d.add(appIDNode, join(kp, "appId"), "uniqueName creates or finds the app by name; appId adopts an existing one: keep one", "appId and uniqueName are mutually exclusive")
	}
	return uniqueNameSet
}

func (d *decoder) enum(v *yaml.Node, kp string, values []string) (string, bool) {
	s, ok := d.str(v, kp)
	if !ok {
		return "", false
	}
	if !slices.Contains(values, s) {
		hint := "one of: " + strings.Join(values, ", ")
		for _, want := range values {
			if strings.EqualFold(want, s) {
				hint = fmt.Sprintf("did you mean %s? values are case-sensitive", want)
			}
		}
		d.add(v, kp, hint, "invalid value")
		return "", false
	}
	return s, true
}

func (d *decoder) redirectURIs(n *yaml.Node, kp string) []string {
	var out []string
	first := map[string]string{}
	d.list(n, kp, func(v *yaml.Node, p string) {
		s, ok := d.str(v, p)
		if !ok {
			return
		}
		norm, msg, hint := NormalizeRedirectURI(s)
		if msg != "" {
			d.add(v, p, hint, "%s", msg)
			return
		}
		if prev, dup := first[norm]; dup {
			d.add(v, p, "remove the duplicate", "same redirect URI as %s once normalised", prev)
			return
		}
		first[norm] = p
		out = append(out, norm)
	})
	if len(out) > 256 {
		d.add(n, kp, "Entra allows at most 256 redirect URIs", "too many redirect URIs")
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func (d *decoder) permissions(n *yaml.Node, kp string) []Permission {
	out := []Permission{}
	apis := map[string]string{} // resourceAppId -> path of first entry
	total := 0
	d.list(n, kp, func(v *yaml.Node, p string) {
		var perm Permission
		var apiNode *yaml.Node
		var known *KnownAPI
		var delegated, application []permItem
		seen := d.mapping(v, p, []field{
			{"api", func(v *yaml.Node, fp string) {
				apiNode = v
				s, ok := d.str(v, fp)
				if !ok {
					return
				}
				if k, ok := LookupAPI(s); ok {
					known = &k
					perm.API, perm.ResourceAppID = k.Alias, k.AppID
					return
				}
				if !guidRE.MatchString(s) {
					d.add(v, fp, "use an alias ("+strings.Join(aliases(), ", ")+") or the resource API's appId GUID", "unknown API")
					return
				}
				perm.API, perm.ResourceAppID = strings.ToLower(s), strings.ToLower(s)
			}},
			{"delegated", func(v *yaml.Node, fp string) { delegated = d.permList(v, fp) }},
			{"application", func(v *yaml.Node, fp string) { application = d.permList(v, fp) }},
		})
		if v.Kind != yaml.MappingNode {
			return
		}
		if _, ok := seen["api"]; !ok {
			d.add(v, join(p, "api"), "add api: partner-center (or another alias, or the resource appId)", "missing required key \"api\"")
			return
		}
		if perm.ResourceAppID == "" {
			return
		}
		if prev, dup := apis[perm.ResourceAppID]; dup {
			d.add(apiNode, join(p, "api"), "merge the two entries into one", "API already listed at %s", prev)
			return
		}
		apis[perm.ResourceAppID] = join(p, "api")
		perm.Delegated = d.resolvePerms(delegated, join(p, "delegated"), known, false)
		perm.Application = d.resolvePerms(application, join(p, "application"), known, true)
		if len(delegated) == 0 && len(application) == 0 {
			d.add(v, p, "add delegated: [...] or application: [...], or remove the entry", "names no permission")
		}
		total += len(perm.Delegated) + len(perm.Application)
		out = append(out, perm)
	})
	if len(out) > 50 {
		d.add(n, kp, "Entra allows at most 50 resource APIs per app", "too many APIs")
	}
	if total > 400 {
		d.add(n, kp, "Entra allows at most 400 permissions per app", "too many permissions")
	}
	return out
}

// permItem is one permission as written, with its key path.
type permItem struct {
	node *yaml.Node
	path string
}

func (d *decoder) permList(n *yaml.Node, kp string) []permItem {
	var out []permItem
	d.list(n, kp, func(v *yaml.Node, p string) {
		if _, ok := d.str(v, p); ok {
			out = append(out, permItem{v, p})
		}
	})
	return out
}

// resolvePerms turns permission names or IDs into PermScopes, reporting unknown names,
// names of the wrong type and duplicates.
func (d *decoder) resolvePerms(items []permItem, kp string, known *KnownAPI, roles bool) []PermScope {
	var out []PermScope
	seen := map[string]string{}
	kind, other, otherKey := "delegated", "application", "application"
	if roles {
		kind, other, otherKey = "application", "delegated", "delegated"
	}
	for _, it := range items {
		v, p := it.node, it.path
		var ps PermScope
		switch {
		case known != nil:
			list, otherList := known.Delegated, known.Application
			if roles {
				list, otherList = known.Application, known.Delegated
			}
			found, ok := findScope(list, v.Value)
			if !ok {
				if _, isOther := findScope(otherList, v.Value); isOther {
					d.add(v, p, fmt.Sprintf("list it under %s", otherKey), "an %s permission of %s, not a %s one", other, known.Alias, kind)
					continue
				}
				hint := "known " + kind + " permissions of " + known.Alias + ": " + strings.Join(scopeValues(list), ", ")
				if len(list) == 0 {
					hint = known.Alias + " has no well-known " + kind + " permissions; use its permission ID"
				}
				if guidRE.MatchString(v.Value) {
					// An ID uicctl does not know for a known API: take it as written.
					found = PermScope{ID: strings.ToLower(v.Value)}
				} else {
					d.add(v, p, hint, "unknown %s permission", kind)
					continue
				}
			}
			ps = found
		case guidRE.MatchString(v.Value):
			ps = PermScope{ID: strings.ToLower(v.Value)}
		default:
			d.add(v, p, "for an API given by appId, list permission IDs (GUIDs)", "not a permission ID")
			continue
		}
		if prev, dup := seen[ps.ID]; dup {
			d.add(v, p, "remove the duplicate", "permission already listed at %s", prev)
			continue
		}
		seen[ps.ID] = p
		out = append(out, ps)
	}
	slices.SortFunc(out, func(a, b PermScope) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func aliases() []string {
	out := make([]string, len(KnownAPIs))
	for i, a := range KnownAPIs {
		out[i] = a.Alias
	}
	return out
}

func defaultPermissions() []Permission {
	pc, _ := LookupAPI("partner-center")
	mp, _ := LookupAPI("microsoft-partner")
	return []Permission{
		{API: pc.Alias, ResourceAppID: pc.AppID, Delegated: pc.Delegated},
		{API: mp.Alias, ResourceAppID: mp.AppID, Delegated: mp.Delegated},
	}
}

func (d *decoder) duration(v *yaml.Node, kp string) (Duration, bool) {
	s, ok := d.str(v, kp)
	if !ok {
		return 0, false
	}
	if !durationRE.MatchString(s) {
		d.add(v, kp, "write a number of days such as 180d (or hours such as 36h)", "invalid duration")
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n > 100000 {
		d.add(v, kp, "write a number of days such as 180d", "duration out of range")
		return 0, false
	}
	unit := 24 * time.Hour
	if strings.HasSuffix(s, "h") {
		unit = time.Hour
	}
	return Duration(time.Duration(n) * unit), true
}

func (d *decoder) clientSecret(n *yaml.Node, kp string, cs *ClientSecret) {
	var lifeNode, renewNode *yaml.Node
	d.mapping(n, kp, []field{
		{"displayName", func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok {
				cs.DisplayName = s
			}
		}},
		{"lifetime", func(v *yaml.Node, p string) {
			if dur, ok := d.duration(v, p); ok {
				lifeNode = v
				cs.Lifetime = dur
				if dur < Duration(24*time.Hour) || dur > MaxLifetime {
					lifeNode = nil
					d.add(v, p, "between 1d and 730d (the longest the Entra portal offers)", "lifetime out of range")
				}
			}
		}},
		{"renewBefore", func(v *yaml.Node, p string) {
			if dur, ok := d.duration(v, p); ok {
				renewNode = v
				cs.RenewBefore = dur
			}
		}},
	})
	if cs.RenewBefore >= cs.Lifetime && (lifeNode != nil || renewNode != nil) {
		at, p := renewNode, join(kp, "renewBefore")
		if at == nil {
			at, p = lifeNode, join(kp, "lifetime")
		}
		d.add(at, p, fmt.Sprintf("renewBefore (%s) must be shorter than lifetime (%s), or every run would rotate the secret", cs.RenewBefore, cs.Lifetime), "renewBefore is not shorter than lifetime")
	}
}

func (d *decoder) partnerCenter(n *yaml.Node, kp string, pc *PartnerCenter) {
	d.mapping(n, kp, []field{
		{"appManagement", func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, AppManagements); ok {
				pc.AppManagement = s
			}
		}},
		{"consent", func(v *yaml.Node, p string) {
			d.mapping(v, p, []field{
				{"account", func(v *yaml.Node, p string) {
					if s, ok := d.str(v, p); ok {
						if !accountRE.MatchString(s) {
							d.add(v, p, "the user principal name of the MFA-enabled partner account, such as svc-uic@contoso.onmicrosoft.com", "not an account name")
						}
						pc.Consent.Account = s
					}
				}},
				{"maxAge", func(v *yaml.Node, p string) {
					if dur, ok := d.duration(v, p); ok {
						if dur < Duration(24*time.Hour) || dur > MaxConsentAge {
							d.add(v, p, "between 1d and 90d: a refresh token unused for 90 days can no longer be redeemed", "maxAge out of range")
						}
						pc.Consent.MaxAge = dur
					}
				}},
			})
		}},
	})
}

func (d *decoder) verify(n *yaml.Node, kp string, vf *Verify) {
	d.mapping(n, kp, []field{
		{"usage", func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, UsageKinds); ok {
				vf.Usage = s
			}
		}},
		{"currency", func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok {
				if !currencyRE.MatchString(s) {
					d.add(v, p, "an ISO 4217 code in capitals, such as EUR or USD", "invalid currency")
				}
				vf.Currency = s
			}
		}},
	})
}

// checkSecretsPath keeps the secrets file inside the tenant's folder: relative, no "..",
// not the spec itself.
func checkSecretsPath(s string) string {
	if filepath.IsAbs(s) || path.IsAbs(s) || strings.HasPrefix(s, `\`) || (len(s) > 1 && s[1] == ':') {
		return "secrets path must be relative to the partner.yaml folder"
	}
	clean := path.Clean(filepath.ToSlash(s))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "secrets path leaves the tenant's folder"
	}
	if clean == "." || clean == "partner.yaml" || strings.HasSuffix(s, "/") {
		return "secrets path must name a file"
	}
	return ""
}
