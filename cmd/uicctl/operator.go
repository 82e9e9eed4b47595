package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type operatorCmd struct {
	ConsentURL operatorConsentURLCmd `cmd:"" name:"consent-url" help:"Print each partner tenant's admin consent link for the operator app, with a text to send with it."`
	Check      operatorCheckCmd      `cmd:"" help:"Check per tenant that the operator signs in and holds each permission it needs (exit 2 when one does not)."`
}

// operatorTargets are the tenants an operator command works on: --tenant-id values, or the
// partner.yaml files under PATH.
type operatorTargets struct {
	Paths    []string `arg:"" optional:"" name:"path" help:"partner.yaml files or folders searched for them (default: .)."`
	TenantID []string `name:"tenant-id" placeholder:"T" help:"A tenant ID instead of PATH (repeatable)."`
	ClientID string   `name:"client-id" placeholder:"APPID" help:"The operator app's client ID (default: AZURE_CLIENT_ID)."`
}

type target struct{ Name, TenantID string }

func (o *operatorTargets) targets(app *App) ([]target, error) {
	if len(o.TenantID) > 0 {
		if len(o.Paths) > 0 {
			return nil, usageError{fmt.Errorf("give PATH or --tenant-id, not both")}
		}
		var out []target
		for _, t := range o.TenantID {
			if !spec.ValidGUID(t) {
				return nil, usageError{fmt.Errorf("--tenant-id %q is not a tenant GUID", t)}
			}
			out = append(out, target{TenantID: strings.ToLower(t)})
		}
		return out, nil
	}
	fleet, err := loadFleet(app, o.Paths)
	if err != nil {
		return nil, err
	}
	fleet = withoutOperator(fleet)
	if n := fleet.Errors(); n > 0 {
		return nil, &specErrors{n}
	}
	var out []target
	for _, t := range fleet.Tenants {
		out = append(out, target{Name: t.Partner.Name, TenantID: t.Partner.TenantID})
	}
	return out, nil
}

func (o *operatorTargets) clientID(app *App) string {
	if o.ClientID != "" {
		return o.ClientID
	}
	return app.Getenv("AZURE_CLIENT_ID")
}

// consentLinks returns the admin consent link of the operator app (AZURE_CLIENT_ID) for a
// tenant, or "" when uicctl does not sign in as an app.
func consentLinks(app *App) func(string) string {
	cl, err := cloud.Lookup(app.Cloud)
	clientID := app.Getenv("AZURE_CLIENT_ID")
	return func(tenantID string) string {
		if err != nil || clientID == "" {
			return ""
		}
		return entra.AdminConsentURL(cl, tenantID, clientID, "")
	}
}

type operatorConsentURLCmd struct {
	operatorTargets
	RedirectURI string `name:"redirect-uri" placeholder:"URI" help:"Where the admin lands afterwards; a web redirect URI of the operator app (default: Microsoft's blank page, as operator.yaml registers)."`
}

// consentLink is one line of consent-url's JSON.
type consentLink struct {
	Name       string `json:"name,omitempty"`
	TenantID   string `json:"tenantId"`
	ConsentURL string `json:"consentUrl"`
}

func (c *operatorConsentURLCmd) Run(app *App) error {
	clientID := c.clientID(app)
	if !spec.ValidGUID(clientID) {
		return &initError{"the operator app's client ID is unknown", "set AZURE_CLIENT_ID to the operator app's application (client) ID, or pass --client-id"}
	}
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return err
	}
	ts, err := c.targets(app)
	if err != nil {
		return err
	}
	var links []consentLink
	for _, t := range ts {
		links = append(links, consentLink{Name: t.Name, TenantID: t.TenantID, ConsentURL: entra.AdminConsentURL(cl, t.TenantID, clientID, c.RedirectURI)})
	}
	if app.Output == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // links keep their &
		return enc.Encode(map[string]any{"clientId": clientID, "permissions": permissionNames(), "tenants": links})
	}
	for i, l := range links {
		if i > 0 {
			fmt.Fprintln(app.Stdout)
		}
		name := l.TenantID
		if l.Name != "" {
			name = l.Name + " (" + l.TenantID + ")"
		}
		fmt.Fprintf(app.Stdout, "%s\n%s\n", name, l.ConsentURL)
	}
	fmt.Fprintf(app.Stdout, "\n--- text to send with a link ---\n%s", consentMessage)
	return nil
}

func permissionNames() []string {
	var out []string
	for _, p := range entra.OperatorPermissions {
		out = append(out, p.Name)
	}
	return out
}

// consentMessage is what a consultant sends a partner's administrator with the link.
var consentMessage = func() string {
	var b strings.Builder
	b.WriteString("To let us keep your Use IT Cloud onboarding configured and monitored, please approve our operator app\n" +
		"in your tenant. Open the link above signed in as a Global Administrator (or Privileged Role Administrator)\n" +
		"of your tenant, review the permissions and choose Accept. The app gets these Microsoft Graph application\n" +
		"permissions, no others:\n\n")
	for _, p := range entra.OperatorPermissions {
		fmt.Fprintf(&b, "  - %s: %s\n", p.Name, p.Why)
	}
	b.WriteString("\nAfterwards you land on a blank Microsoft page whose address ends in admin_consent=True: that is all.\n" +
		"You can remove the app at any time under Entra ID > Enterprise applications (delete it, or remove the\n" +
		"permissions under Permissions).\n")
	return b.String()
}()

type operatorCheckCmd struct {
	operatorTargets
}

// checkResult is one tenant of operator check (and its JSON).
type checkResult struct {
	Name     string `json:"name,omitempty"`
	TenantID string `json:"tenantId"`
	// Mode is "application" (the operator app) or "user" (a signed-in consultant).
	Mode     string `json:"mode"`
	SignedIn bool   `json:"signedIn"`
	// Permissions lists each permission the operator needs and whether it is held
	// (application mode); a signed-in user's HeldRoles (directory role names, or template
	// IDs uicctl has no name for) and RoleNeeds say what it may do instead (user mode).
	Permissions []heldPermission `json:"permissions,omitempty"`
	Extra       []string         `json:"extra,omitempty"` // held, but not needed
	HeldRoles   []string         `json:"heldRoles,omitempty"`
	RoleNeeds   []roleNeed       `json:"roleNeeds,omitempty"`
	OK          bool             `json:"ok"`
	Error       string           `json:"error,omitempty"`
	Hint        string           `json:"hint,omitempty"`
	ConsentURL  string           `json:"consentUrl,omitempty"`
}

type heldPermission struct {
	Name string `json:"name"`
	Held bool   `json:"held"`
}

// roleNeed is one kind of change a consultant signed in as a user of a partner tenant makes,
// the directory roles any of which allows it, and whether the user holds one.
type roleNeed struct {
	Need  string   `json:"need"`
	AnyOf []string `json:"anyOf"`
	Held  bool     `json:"held"`
}

// delegatedNeeds are what a consultant signed in as a user needs instead of the operator
// app's permissions (docs/operator.md). Application and Cloud Application Administrator
// may consent to delegated grants but not to application permissions of Microsoft Graph:
// their app role assignments need Privileged Role Administrator
// (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
// Global Administrator allows everything.
var delegatedNeeds = []roleNeed{
	{Need: "app registrations and delegated grants", AnyOf: []string{entra.GlobalAdministrator, entra.ApplicationAdministrator, entra.CloudApplicationAdministrator}},
	{Need: "app role assignments on Microsoft Graph", AnyOf: []string{entra.GlobalAdministrator, entra.PrivilegedRoleAdministrator}},
	{Need: "AdminAgents membership (preconsent)", AnyOf: []string{entra.GlobalAdministrator, entra.GroupsAdministrator}},
}

// roleName names a directory role template ID (the ID itself when uicctl has no name).
func roleName(id string) string {
	if n := entra.DirectoryRoleNames[id]; n != "" {
		return n
	}
	return id
}

// checkUser fills r from the directory roles held by the user signed in to r's tenant.
func checkUser(r *checkResult, held []string) {
	r.SignedIn, r.OK = true, true
	for _, id := range held {
		r.HeldRoles = append(r.HeldRoles, roleName(id))
	}
	var lacking []string
	for _, n := range delegatedNeeds {
		need := roleNeed{Need: n.Need, Held: slices.ContainsFunc(n.AnyOf, func(id string) bool { return slices.Contains(held, id) })}
		for _, id := range n.AnyOf {
			need.AnyOf = append(need.AnyOf, roleName(id))
		}
		r.RoleNeeds = append(r.RoleNeeds, need)
		if !need.Held {
			r.OK = false
			lacking = append(lacking, need.Need)
		}
	}
	if !r.OK {
		r.Error = fmt.Sprintf("tenant %s: the signed-in user holds no directory role for %s", r.TenantID, strings.Join(lacking, ", "))
		r.Hint = "a Privileged Role Administrator of the tenant assigns the roles listed (and you activate them, if eligible in PIM), then sign in again with az login"
	}
}

func (c *operatorCheckCmd) Run(app *App) error {
	ts, err := c.targets(app)
	if err != nil {
		return err
	}
	client, err := graphClient(app)
	if err != nil {
		return err
	}
	clientID := c.clientID(app)
	link := consentLinks(app)
	if c.ClientID != "" {
		cl, _ := cloud.Lookup(app.Cloud)
		link = func(t string) string { return entra.AdminConsentURL(cl, t, c.ClientID, "") }
	}
	results := make([]checkResult, len(ts))
	parallel(app, len(ts), func(i int) {
		results[i] = checkTenant(app, client, ts[i], clientID, link)
	})
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	if app.Output == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // links keep their &
		if err := enc.Encode(map[string]any{"tenants": results, "failed": failed}); err != nil {
			return err
		}
	} else {
		writeCheck(app, results, failed)
	}
	if failed > 0 {
		return exitStatus(2)
	}
	return nil
}

func checkTenant(app *App, client *entra.Client, t target, clientID string, link func(string) string) checkResult {
	r := checkResult{Name: t.Name, TenantID: t.TenantID, Mode: "application"}
	fail := func(err error) checkResult {
		err = entra.WithConsentLink(err, link)
		r.Error = oneLine(err.Error())
		if h := hints(err); len(h) > 0 {
			r.Hint = oneLine(h[0])
		}
		return r
	}
	if clientID == "" {
		// A consultant signed in with az login: the Graph token's wids claim lists the
		// directory roles the user holds in the tenant.
		r.Mode = "user"
		held, err := client.UserDirectoryRoles(app.Ctx, t.TenantID)
		if err != nil {
			return fail(err)
		}
		checkUser(&r, held)
		return r
	}
	acc, err := client.OperatorAccess(app.Ctx, t.TenantID, clientID)
	var pe *entra.PermissionError
	if errors.As(err, &pe) {
		// Signed in, but the app may not even read its own service principal: that much
		// is known missing.
		r.SignedIn = true
		r.Permissions = []heldPermission{{Name: pe.Permission}}
	}
	if err != nil {
		return fail(err)
	}
	r.SignedIn = true
	r.OK = acc.ServicePrincipal
	for _, p := range entra.OperatorPermissions {
		held := slices.Contains(acc.Roles, p.Name)
		r.Permissions = append(r.Permissions, heldPermission{Name: p.Name, Held: held})
		r.OK = r.OK && held
	}
	for _, v := range acc.Roles {
		if !slices.Contains(permissionNames(), v) {
			r.Extra = append(r.Extra, v)
		}
	}
	if !r.OK {
		r.ConsentURL = link(t.TenantID)
		r.Error = fmt.Sprintf("tenant %s: the operator app lacks %s", t.TenantID, strings.Join(missing(r.Permissions), ", "))
		r.Hint = "a Global Administrator of the tenant grants them by opening the consent link again"
		if r.ConsentURL != "" {
			r.Hint += ": " + r.ConsentURL
		}
	}
	return r
}

func missing(ps []heldPermission) []string {
	var out []string
	for _, p := range ps {
		if !p.Held {
			out = append(out, p.Name)
		}
	}
	return out
}

func writeCheck(app *App, results []checkResult, failed int) {
	for _, r := range results {
		status := "ok"
		if !r.OK {
			status = "FAIL"
		}
		name := r.TenantID
		if r.Name != "" {
			name = r.Name + " (" + r.TenantID + ")"
		}
		fmt.Fprintf(app.Stdout, "%-5s %s\n", status, name)
		switch {
		case r.Mode == "user" && r.SignedIn:
			held := "none"
			if len(r.HeldRoles) > 0 {
				held = strings.Join(r.HeldRoles, ", ")
			}
			fmt.Fprintf(app.Stdout, "  signed in as a user holding the directory roles: %s\n", held)
			for _, n := range r.RoleNeeds {
				status := "held"
				if !n.Held {
					status = "MISSING"
				}
				fmt.Fprintf(app.Stdout, "  %-40s %-8s (any of: %s)\n", n.Need, status, strings.Join(n.AnyOf, ", "))
			}
		case r.SignedIn:
			for _, p := range r.Permissions {
				held := "held"
				if !p.Held {
					held = "MISSING"
				}
				fmt.Fprintf(app.Stdout, "  %-40s %s\n", p.Name, held)
			}
			for _, e := range r.Extra {
				fmt.Fprintf(app.Stdout, "  %-40s held, not needed by uicctl\n", e)
			}
		}
		if r.Error != "" {
			fmt.Fprintf(app.Stdout, "  error: %s\n", r.Error)
		}
		if r.Hint != "" {
			fmt.Fprintf(app.Stdout, "  hint: %s\n", r.Hint)
		}
	}
	fmt.Fprintf(app.Stdout, "%s: %d ok, %d failed\n", count(len(results), "tenant", "tenants"), len(results)-failed, failed)
}
