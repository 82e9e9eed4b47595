package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/internal/atomicfile"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type importCmd struct {
	Dir         string `arg:"" default:"." help:"Tenant folder the partner.yaml is written to (created when missing; an existing partner.yaml is never overwritten)."`
	TenantID    string `name:"tenant-id" required:"" placeholder:"GUID" help:"The partner's tenant ID."`
	AppID       string `name:"app-id" xor:"app" required:"" placeholder:"GUID" help:"Application (client) ID of the app to adopt."`
	DisplayName string `name:"display-name" xor:"app" required:"" placeholder:"NAME" help:"Display name of the app to adopt, when it is the only app with that name."`
	Name        string `help:"Tenant name in the spec (default: the folder name)."`
}

func (c *importCmd) Run(app *App) error {
	if !spec.ValidGUID(c.TenantID) {
		return &initError{"--tenant-id is not a GUID", "the Microsoft ID from Partner Center > Organization profile"}
	}
	if c.AppID == "" && c.DisplayName == "" {
		// kong takes --app-id "" (an unset shell variable) as given: say what is missing
		// before anything signs in.
		return &initError{"--app-id or --display-name is empty", "pass the Application (client) ID from the Entra portal > App registrations (--app-id GUID), or the app's exact display name (--display-name NAME)"}
	}
	if strings.TrimSpace(c.DisplayName) == "" && c.DisplayName != "" {
		return &initError{"--display-name is blank", "pass the app's exact display name, as the Entra portal shows it"}
	}
	if c.AppID != "" && !spec.ValidGUID(c.AppID) {
		return &initError{"--app-id is not a GUID", "the Application (client) ID from the Entra portal > App registrations"}
	}
	name := c.Name
	if name == "" {
		abs, err := filepath.Abs(c.Dir)
		if err != nil {
			return err
		}
		name = filepath.Base(abs)
	}
	if !spec.ValidName(name) {
		return &initError{"invalid tenant name " + fmt.Sprintf("%q", name), "pass --name with lower-case letters, digits and dashes, at most 63, such as contoso-eu"}
	}
	client, err := graphClient(app)
	if err != nil {
		return err
	}
	tenant, appID := strings.ToLower(c.TenantID), strings.ToLower(c.AppID)
	if c.DisplayName != "" {
		found, err := client.FindApplications(app.Ctx, tenant, c.DisplayName)
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			return &initError{fmt.Sprintf("no application named %q in tenant %s", c.DisplayName, tenant), "display names are matched exactly, case included; --app-id takes the Application (client) ID instead"}
		case 1:
			appID = found[0].AppID
		default:
			ids := make([]string, len(found))
			for i, f := range found {
				ids[i] = f.AppID
			}
			return &initError{fmt.Sprintf("%d applications are named %q in tenant %s: %s", len(found), c.DisplayName, tenant, strings.Join(ids, ", ")), "choose one with --app-id"}
		}
	}
	obs, err := client.Observe(app.Ctx, tenant, entra.Query{AppID: appID})
	if err != nil {
		return err
	}
	if obs.App == nil {
		return &initError{fmt.Sprintf("no application with appId %s in tenant %s", appID, tenant), "check the Application (client) ID in the Entra portal > App registrations"}
	}
	// A second observation with the resource APIs the app names: their service principals
	// carry the values of permissions the alias table does not know.
	var res []string
	for _, ra := range obs.App.RequiredResourceAccess {
		res = append(res, strings.ToLower(ra.ResourceAppID))
	}
	if len(res) > 0 {
		if obs, err = client.Observe(app.Ctx, tenant, entra.Query{AppID: appID, ResourceAppIDs: res}); err != nil {
			return err
		}
	}
	text := importedSpec(name, tenant, obs)
	if _, diags := spec.Parse(spec.SpecFileName, []byte(text)); len(diags) > 0 {
		return fmt.Errorf("cannot write a valid partner.yaml for the imported app: %s", diags[0])
	}
	path := filepath.Join(c.Dir, spec.SpecFileName)
	created, err := atomicfile.CreateNew(path, []byte(text), 0o644)
	if err != nil {
		return err
	}
	if !created {
		return &initError{path + " exists", "import writes a new partner.yaml only; move the existing one away or import into another folder"}
	}
	w := &errWriter{w: app.Stdout}
	w.printf("created %s (app %s)\n", path, obs.App.AppID)
	w.printf("next: store the app's client secret and refresh token with uicctl secrets set (docs/migrate.md), then uicctl plan %s\n", c.Dir)
	return w.err
}

// importedSpec renders partner.yaml for a live app: everything the spec can say about it as
// keys (so that plan finds nothing to change), the rest as comments.
func importedSpec(name, tenantID string, o *plan.Observed) string {
	a := o.App
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Imported by uicctl import from the live application %s.\n", a.AppID)
	p("# Reference: docs/partner-yaml.md; migration steps: docs/migrate.md.\n")
	p("apiVersion: %s\nkind: %s\nname: %s\ntenantId: %s\n", spec.APIVersion, spec.Kind, name, tenantID)
	p("application:\n")
	p("  # Adopted by appId: uicctl changes this app, never creates another.\n")
	p("  appId: %s\n", a.AppID)
	p("  displayName: %s\n", yamlString(a.DisplayName))
	if slices.Contains(spec.SignInAudiences, a.SignInAudience) {
		p("  signInAudience: %s\n", a.SignInAudience)
	} else {
		p("  # signInAudience %s cannot be written in partner.yaml; the default AzureADMultipleOrgs\n", yamlString(a.SignInAudience))
		p("  # would change it.\n")
	}
	var uris, others []string
	for _, u := range a.RedirectURIs {
		if n, msg, _ := spec.NormalizeRedirectURI(u); msg == "" {
			if !slices.Contains(uris, n) {
				uris = append(uris, n)
			}
		} else {
			others = append(others, u)
		}
	}
	sort.Strings(uris)
	p("  redirectUris: [%s]\n", strings.Join(uris, ", "))
	for _, u := range others {
		p("  # Also live, not a web redirect URI partner.yaml accepts (kept as it is): %s\n", yamlString(u))
	}
	p("  permissions:")
	perms := slices.Clone(a.RequiredResourceAccess)
	sort.Slice(perms, func(i, j int) bool {
		return spec.AliasFor(strings.ToLower(perms[i].ResourceAppID)) < spec.AliasFor(strings.ToLower(perms[j].ResourceAppID))
	})
	if len(perms) == 0 {
		p(" []\n")
	} else {
		p("\n")
	}
	for _, ra := range perms {
		res := strings.ToLower(ra.ResourceAppID)
		p("    - api: %s\n", spec.AliasFor(res))
		if len(ra.Scopes) > 0 {
			p("      delegated: [%s]\n", strings.Join(permNames(res, ra.Scopes, false), ", "))
		}
		if len(ra.Roles) > 0 {
			p("      application: [%s]\n", strings.Join(permNames(res, ra.Roles, true), ", "))
		}
	}
	consented, note := adminConsented(o)
	p("  # %s\n", note)
	p("  adminConsent: %t\n", consented)
	if o.AdminAgents.Member {
		p("  # The service principal is a member of AdminAgents (the script's -ConfigurePreconsent).\n")
	}
	p("  preconsent: %t\n", o.AdminAgents.Member)
	p("  # Password credentials on the app, kept as they are (prune: true would delete them):\n")
	if len(a.Passwords) == 0 {
		p("  #   (none)\n")
	}
	pws := slices.Clone(a.Passwords)
	sort.Slice(pws, func(i, j int) bool { return pws[i].EndDateTime.Before(pws[j].EndDateTime) })
	for _, pw := range pws {
		n := pw.DisplayName
		if n == "" {
			n = "(no name)"
		}
		p("  #   keyId %s %s, ends %s\n", pw.KeyID, yamlString(n), pw.EndDateTime.UTC().Format(time.DateOnly))
	}
	p("  # Record the one in use with uicctl secrets set (clientSecret, clientSecret.keyId,\n")
	p("  # clientSecret.endDateTime); uicctl then renews it before it ends. Secrets uicctl makes\n")
	p("  # carry the displayName below, which no live credential has.\n")
	p("  clientSecret: {displayName: %s, lifetime: %s, renewBefore: %s}\n", yamlString(secretName(a.Passwords)), spec.DefaultLifetime, spec.DefaultRenewBefore)
	p("partnerCenter:\n")
	p("  # The app was used with Partner Center before, so it is taken as registered in App\n")
	p("  # management (no API can check it): set unregistered if it is not.\n")
	p("  appManagement: %s\n", spec.DefaultAppManagement)
	return b.String()
}

// secretName is the clientSecret.displayName of an imported spec. plan deletes credentials
// that carry that name but are not in the secrets file (values uicctl lost), so it must be a
// name no live credential has: the hand-made secrets are then only listed, never deleted.
func secretName(live []plan.Password) string {
	taken := func(n string) bool {
		return slices.ContainsFunc(live, func(pw plan.Password) bool { return pw.DisplayName == n })
	}
	name := spec.DefaultSecretName
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s-%d", spec.DefaultSecretName, i)
	}
	return name
}

// permNames writes permissions by value when the alias table knows them, else by ID (which
// partner.yaml accepts for any API).
func permNames(resourceAppID string, ids []string, role bool) []string {
	k, known := spec.LookupAPI(resourceAppID)
	var out []string
	for _, id := range ids {
		id = strings.ToLower(id)
		name := id
		if known {
			list := k.Delegated
			if role {
				list = k.Application
			}
			for _, ps := range list {
				if ps.ID == id {
					name = ps.Value
				}
			}
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// adminConsented reports whether every permission the app requests is granted tenant-wide
// (an AllPrincipals grant holding each delegated scope, an assignment for each app role):
// only then does adminConsent: true leave plan nothing to do.
func adminConsented(o *plan.Observed) (bool, string) {
	a, sp := o.App, o.ServicePrincipal
	if len(a.RequiredResourceAccess) == 0 {
		return false, "The app requests no permission, so there is nothing to consent to."
	}
	if sp == nil {
		return false, "The app has no service principal in the tenant: nobody has consented."
	}
	any, all := false, true
	for _, ra := range a.RequiredResourceAccess {
		appID := strings.ToLower(ra.ResourceAppID)
		rs, ok := o.ResourceSPs[appID]
		for _, id := range ra.Scopes {
			value := plan.PermissionValue(o, appID, strings.ToLower(id), false)
			granted := ok && slices.ContainsFunc(o.Grants, func(g plan.Grant) bool {
				return g.ClientID == sp.ObjectID && g.ResourceID == rs.ObjectID && g.ConsentType == "AllPrincipals" && slices.Contains(g.Scopes, value)
			})
			any, all = any || granted, all && granted
		}
		for _, id := range ra.Roles {
			granted := ok && slices.ContainsFunc(o.AppRoleAssignments, func(r plan.AppRoleAssignment) bool {
				return r.PrincipalID == sp.ObjectID && r.ResourceID == rs.ObjectID && strings.EqualFold(r.AppRoleID, id)
			})
			any, all = any || granted, all && granted
		}
	}
	switch {
	case all:
		return true, "Admin consent is granted for every permission above."
	case any:
		return false, "Admin consent covers only some of the permissions above; adminConsent: true would grant the rest."
	default:
		return false, "No admin consent is granted (Create-AzureADApplication.ps1 grants none); adminConsent: true would grant it."
	}
}

// yamlString quotes s when plain YAML would read it as something else.
func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") || strings.TrimSpace(s) != s ||
		slices.Contains([]string{"true", "false", "yes", "no", "on", "off", "null", "~"}, strings.ToLower(s)) {
		return fmt.Sprintf("%q", s)
	}
	return s
}
