package spec

import (
	"encoding/json"
	"strings"
)

// SchemaID is the $id of the partner.yaml JSON Schema.
const SchemaID = "https://useitcloud.github.io/uicctl/schema/partner-v1.json"

type obj = map[string]any

// JSONSchema returns the JSON Schema (draft 2020-12) of partner.yaml v1, for editors and CI
// linters. It is built from the same patterns, enumerations and alias table as the loader;
// checks that span fields or files (renewBefore < lifetime, unique names, duplicate
// permissions) are only in uicctl validate.
func JSONSchema() []byte {
	str := func(desc string) obj { return obj{"type": "string", "minLength": 1, "description": desc} }
	pattern := func(desc, p string) obj { s := str(desc); s["pattern"] = p; return s }
	enum := func(desc string, values []string) obj {
		return obj{"type": "string", "enum": values, "description": desc}
	}
	boolean := func(desc string) obj { return obj{"type": "boolean", "description": desc} }
	closed := func(desc string, props obj, required ...string) obj {
		o := obj{"type": "object", "additionalProperties": false, "properties": props, "description": desc}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	duration := pattern("A number of days such as 180d, or hours such as 36h.", durationPattern)
	guid := func(desc string) obj { return pattern(desc, guidPattern) }

	// A permission entry: an alias restricts the permission names to that API's table.
	var permVariants []any
	for _, a := range KnownAPIs {
		names := func(list []PermScope) obj {
			var alts []any
			for _, p := range list {
				alts = append(alts, obj{"const": p.Value}, obj{"const": p.ID})
			}
			alts = append(alts, obj{"type": "string", "pattern": guidPattern})
			return obj{"type": "array", "uniqueItems": true, "items": obj{"anyOf": alts}}
		}
		permVariants = append(permVariants, obj{
			"if":   obj{"properties": obj{"api": obj{"enum": []string{a.Alias, a.AppID}}}},
			"then": obj{"properties": obj{"delegated": names(a.Delegated), "application": names(a.Application)}},
		})
	}
	var aliasNames []string
	for _, a := range KnownAPIs {
		aliasNames = append(aliasNames, a.Alias)
	}
	permission := closed("Permissions on one resource API.", obj{
		"api": obj{"description": "A well-known alias (" + strings.Join(aliasNames, ", ") + ") or the resource API's appId.",
			"anyOf": []any{obj{"enum": aliasNames}, obj{"type": "string", "pattern": guidPattern}}},
		"delegated":   obj{"type": "array", "items": obj{"type": "string", "minLength": 1}, "uniqueItems": true, "description": "Delegated permissions (Scope): names for aliases, otherwise IDs."},
		"application": obj{"type": "array", "items": obj{"type": "string", "minLength": 1}, "uniqueItems": true, "description": "Application permissions (Role): names for aliases, otherwise IDs."},
	}, "api")
	var knownIDs []string
	for _, a := range KnownAPIs {
		knownIDs = append(knownIDs, a.Alias, a.AppID)
	}
	guidList := obj{"type": "array", "items": obj{"type": "string", "pattern": guidPattern}}
	permVariants = append(permVariants, obj{
		"if":   obj{"properties": obj{"api": obj{"not": obj{"enum": knownIDs}}}},
		"then": obj{"properties": obj{"delegated": guidList, "application": guidList}},
	})
	permission["allOf"] = permVariants
	permission["anyOf"] = []any{obj{"required": []string{"delegated"}}, obj{"required": []string{"application"}}}

	schema := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "uicctl partner.yaml v1",
		"description":          "Desired Entra and Partner Center configuration of one CSP partner tenant. See docs/partner-yaml.md.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"apiVersion", "kind", "name", "tenantId"},
		"properties": obj{
			"apiVersion": obj{"const": APIVersion},
			"kind":       obj{"const": Kind},
			"name":       pattern("Unique in the fleet; lower-case letters, digits and dashes.", namePattern),
			"tenantId":   guid("The partner's tenant ID (Partner Center > Organization profile > Microsoft ID)."),
			"application": withNot(obj{"required": []string{"uniqueName", "appId"}}, closed("The Entra app registration Use IT Cloud signs in with.", obj{
				"displayName":    obj{"type": "string", "minLength": 1, "maxLength": 120, "default": DefaultDisplayName},
				"uniqueName":     pattern("Graph alternate key of the app (default uicctl-<name>).", uniqueNamePattern),
				"appId":          guid("Adopt an existing app by its Application (client) ID instead of uniqueName."),
				"signInAudience": enum("Who may sign in (default "+DefaultAudience+").", SignInAudiences),
				"redirectUris": obj{"type": "array", "maxItems": 256, "description": "Web redirect URIs (default [" + DefaultRedirectURI + "]).",
					"items": obj{"type": "string", "maxLength": 256, "pattern": `^(https://[^*#\s]+|http://(localhost|127\.0\.0\.1)([:/][^*#\s]*)?)$`}},
				"permissions":  obj{"type": "array", "maxItems": 50, "items": permission, "description": "Default: partner-center and microsoft-partner user_impersonation."},
				"adminConsent": boolean("Grant tenant-wide admin consent (default true)."),
				"preconsent":   boolean("Add the service principal to AdminAgents (default false)."),
				"prune":        boolean("Remove live redirect URIs, permissions and secrets the spec does not name (default false)."),
				"clientSecret": closed("The password credential uicctl keeps.", obj{
					"displayName": obj{"type": "string", "minLength": 1},
					"lifetime":    duration,
					"renewBefore": duration,
				}),
			})),
			"partnerCenter": closed("What Partner Center needs beyond Graph.", obj{
				"appManagement": enum("Declared registration in Partner Center > App management.", AppManagements),
				"consent": closed("The Secure Application Model sign-in.", obj{
					"account": pattern("UPN of the MFA-enabled partner account.", accountPattern),
					"maxAge":  duration,
				}),
			}),
			"verify": closed("What uicctl verify calls.", obj{
				"usage":    enum("The usage API verify calls (default "+DefaultUsage+").", UsageKinds),
				"currency": pattern("ISO 4217 currency of unbilled usage (default "+DefaultCurrency+").", currencyPattern),
			}),
			"delivery": closed("Where else the credentials go.", obj{
				"keyVault": closed("An Azure Key Vault that receives the tenant ID, client ID, client secret and refresh token as secrets.", obj{
					"url": pattern("The vault's URI, such as https://contoso-uic.vault.azure.net/.", vaultURLPattern),
					"names": closed("Secret names (default uic-<name>-tenant-id, -client-id, -client-secret, -refresh-token).", obj{
						"tenantId":     pattern("", vaultSecretNamePattern),
						"clientId":     pattern("", vaultSecretNamePattern),
						"clientSecret": pattern("", vaultSecretNamePattern),
						"refreshToken": pattern("", vaultSecretNamePattern),
					}),
				}, "url"),
			}),
			"secrets": pattern("Secrets file, relative to this file, inside its folder (default "+DefaultSecretsFile+").", `^[^/\\][^:]*$`),
		},
	}
	b, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		panic(err) // static data
	}
	return append(b, '\n')
}

// withNot adds a "not" clause to a schema object: used for mutually exclusive keys.
func withNot(not, o obj) obj {
	o["not"] = not
	return o
}
