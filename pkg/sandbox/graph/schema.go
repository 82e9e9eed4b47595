package graph

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The property tables below follow the msgraph-sdk-go v1.89.0 models (their
// GetFieldDeserializers), so a body the SDK can write is a body the sandbox can read, and a
// property the model does not know gets the real 400.

type kind uint8

const (
	kString  kind = iota // string or null
	kBool                // boolean or null
	kInt                 // integer or null
	kTime                // DateTimeOffset string
	kGUID                // GUID string
	kStrings             // collection of strings
	kObject              // complex type named by prop.typ
	kObjects             // collection of complex types named by prop.typ
	kAny                 // complex value the sandbox stores without looking inside
	kNav                 // navigation property: never in bodies or default responses
)

type prop struct {
	kind     kind
	typ      string // complex type name for kObject/kObjects
	readOnly bool   // set by the service; a body that sets it is refused
}

type typeDef struct {
	name  string // OData type name without the namespace, e.g. "application"
	props map[string]prop
}

func p(k kind) prop                                   { return prop{kind: k} }
func ro(k kind) prop                                  { return prop{kind: k, readOnly: true} }
func obj(t string) prop                               { return prop{kind: kObject, typ: t} }
func objs(t string) prop                              { return prop{kind: kObjects, typ: t} }
func nav() prop                                       { return prop{kind: kNav} }
func def(name string, props map[string]prop) *typeDef { return &typeDef{name: name, props: props} }

var types = map[string]*typeDef{}

func init() {
	for _, t := range []*typeDef{
		def("application", map[string]prop{
			"id": ro(kGUID), "deletedDateTime": ro(kTime), "addIns": objs("addIn"), "api": obj("apiApplication"),
			"appId": ro(kGUID), "applicationTemplateId": ro(kGUID), "appManagementPolicies": nav(),
			"appRoles": objs("appRole"), "authenticationBehaviors": obj("authenticationBehaviors"),
			"certification": {kind: kAny, readOnly: true}, "createdDateTime": ro(kTime), "createdOnBehalfOf": nav(),
			"defaultRedirectUri": p(kString), "description": p(kString), "disabledByMicrosoftStatus": p(kString),
			"displayName": p(kString), "extensionProperties": nav(), "federatedIdentityCredentials": nav(),
			"groupMembershipClaims": p(kString), "homeRealmDiscoveryPolicies": nav(), "identifierUris": p(kStrings),
			"info": obj("informationalUrl"), "isDeviceOnlyAuthSupported": p(kBool), "isFallbackPublicClient": p(kBool),
			"keyCredentials": objs("keyCredential"), "logo": nav(), "nativeAuthenticationApisEnabled": p(kString),
			"notes": p(kString), "oauth2RequirePostResponse": p(kBool), "optionalClaims": p(kAny), "owners": nav(),
			"parentalControlSettings": obj("parentalControlSettings"), "passwordCredentials": objs("passwordCredential"),
			"publicClient": obj("publicClientApplication"), "publisherDomain": ro(kString),
			"requestSignatureVerification": p(kAny), "requiredResourceAccess": objs("requiredResourceAccess"),
			"samlMetadataUrl": p(kString), "serviceManagementReference": p(kString),
			"servicePrincipalLockConfiguration": p(kAny), "signInAudience": p(kString), "spa": obj("spaApplication"),
			"synchronization": nav(), "tags": p(kStrings), "tokenEncryptionKeyId": p(kGUID), "tokenIssuancePolicies": nav(),
			"tokenLifetimePolicies": nav(), "uniqueName": p(kString), "verifiedPublisher": {kind: kAny, readOnly: true},
			"web": obj("webApplication"),
		}),
		def("servicePrincipal", map[string]prop{
			"id": ro(kGUID), "deletedDateTime": ro(kTime), "accountEnabled": p(kBool), "addIns": objs("addIn"),
			"alternativeNames": p(kStrings), "appDescription": p(kString), "appDisplayName": ro(kString),
			"appId": p(kGUID), "applicationTemplateId": ro(kGUID), "appManagementPolicies": nav(),
			"appOwnerOrganizationId": ro(kGUID), "appRoleAssignedTo": nav(), "appRoleAssignmentRequired": p(kBool),
			"appRoleAssignments": nav(), "appRoles": objs("appRole"), "claimsMappingPolicies": nav(), "createdObjects": nav(),
			"customSecurityAttributes": p(kAny), "delegatedPermissionClassifications": nav(), "description": p(kString),
			"disabledByMicrosoftStatus": p(kString), "displayName": p(kString), "endpoints": nav(),
			"federatedIdentityCredentials": nav(), "homepage": p(kString), "homeRealmDiscoveryPolicies": nav(),
			"info": obj("informationalUrl"), "keyCredentials": objs("keyCredential"), "loginUrl": p(kString),
			"logoutUrl": p(kString), "memberOf": nav(), "notes": p(kString), "notificationEmailAddresses": p(kStrings),
			"oauth2PermissionGrants": nav(), "oauth2PermissionScopes": objs("permissionScope"), "ownedObjects": nav(),
			"owners": nav(), "passwordCredentials": objs("passwordCredential"), "preferredSingleSignOnMode": p(kString),
			"preferredTokenSigningKeyThumbprint": p(kString), "remoteDesktopSecurityConfiguration": nav(),
			"replyUrls": p(kStrings), "resourceSpecificApplicationPermissions": {kind: kAny, readOnly: true},
			"samlSingleSignOnSettings": p(kAny), "servicePrincipalNames": p(kStrings), "servicePrincipalType": p(kString),
			"signInAudience": ro(kString), "synchronization": nav(), "tags": p(kStrings), "tokenEncryptionKeyId": p(kGUID),
			"tokenIssuancePolicies": nav(), "tokenLifetimePolicies": nav(), "transitiveMemberOf": nav(),
			"verifiedPublisher": p(kAny),
		}),
		def("oAuth2PermissionGrant", map[string]prop{
			"id": ro(kString), "clientId": p(kGUID), "consentType": p(kString), "principalId": p(kGUID),
			"resourceId": p(kGUID), "scope": p(kString),
		}),
		def("appRoleAssignment", map[string]prop{
			"id": ro(kString), "deletedDateTime": ro(kTime), "appRoleId": p(kGUID), "createdDateTime": ro(kTime),
			"principalDisplayName": ro(kString), "principalId": p(kGUID), "principalType": ro(kString),
			"resourceDisplayName": ro(kString), "resourceId": p(kGUID),
		}),
		def("group", map[string]prop{
			"id": ro(kGUID), "deletedDateTime": ro(kTime), "classification": p(kString), "createdDateTime": ro(kTime),
			"description": p(kString), "displayName": p(kString), "groupTypes": p(kStrings), "isAssignableToRole": p(kBool),
			"mail": ro(kString), "mailEnabled": p(kBool), "mailNickname": p(kString), "securityEnabled": p(kBool),
			"visibility": p(kString), "members": nav(), "owners": nav(), "memberOf": nav(), "uniqueName": p(kString),
		}),
		def("organization", map[string]prop{
			"id": ro(kGUID), "deletedDateTime": ro(kTime), "assignedPlans": {kind: kAny, readOnly: true}, "branding": nav(),
			"businessPhones": p(kStrings), "certificateBasedAuthConfiguration": nav(), "city": p(kString),
			"country": p(kString), "countryLetterCode": p(kString), "createdDateTime": ro(kTime),
			"defaultUsageLocation": p(kString), "displayName": p(kString), "extensions": nav(),
			"marketingNotificationEmails": p(kStrings), "mobileDeviceManagementAuthority": p(kString),
			"onPremisesLastSyncDateTime": ro(kTime), "onPremisesSyncEnabled": p(kBool), "partnerTenantType": ro(kString),
			"postalCode": p(kString), "preferredLanguage": p(kString), "privacyProfile": p(kAny),
			"provisionedPlans": {kind: kAny, readOnly: true}, "securityComplianceNotificationMails": p(kStrings),
			"securityComplianceNotificationPhones": p(kStrings), "state": p(kString), "street": p(kString),
			"technicalNotificationMails": p(kStrings), "tenantType": ro(kString), "verifiedDomains": {kind: kObjects, typ: "verifiedDomain", readOnly: true},
		}),
		def("verifiedDomain", map[string]prop{"capabilities": p(kString), "isDefault": p(kBool), "isInitial": p(kBool),
			"name": p(kString), "type": p(kString)}),
		def("passwordCredential", map[string]prop{
			"customKeyIdentifier": p(kString), "displayName": p(kString), "endDateTime": p(kTime), "hint": ro(kString),
			"keyId": p(kGUID), "secretText": ro(kString), "startDateTime": p(kTime),
		}),
		def("keyCredential", map[string]prop{
			"customKeyIdentifier": p(kString), "displayName": p(kString), "endDateTime": p(kTime), "key": p(kString),
			"keyId": p(kGUID), "startDateTime": p(kTime), "type": p(kString), "usage": p(kString),
		}),
		def("webApplication", map[string]prop{
			"homePageUrl": p(kString), "implicitGrantSettings": obj("implicitGrantSettings"), "logoutUrl": p(kString),
			"redirectUris": p(kStrings), "redirectUriSettings": objs("redirectUriSettings"),
		}),
		def("implicitGrantSettings", map[string]prop{"enableAccessTokenIssuance": p(kBool), "enableIdTokenIssuance": p(kBool)}),
		def("redirectUriSettings", map[string]prop{"index": p(kInt), "uri": p(kString)}),
		def("publicClientApplication", map[string]prop{"redirectUris": p(kStrings)}),
		def("spaApplication", map[string]prop{"redirectUris": p(kStrings)}),
		def("requiredResourceAccess", map[string]prop{"resourceAccess": objs("resourceAccess"), "resourceAppId": p(kString)}),
		def("resourceAccess", map[string]prop{"id": p(kGUID), "type": p(kString)}),
		def("apiApplication", map[string]prop{
			"acceptMappedClaims": p(kBool), "knownClientApplications": p(kStrings),
			"oauth2PermissionScopes": objs("permissionScope"), "preAuthorizedApplications": objs("preAuthorizedApplication"),
			"requestedAccessTokenVersion": p(kInt),
		}),
		def("preAuthorizedApplication", map[string]prop{"appId": p(kString), "delegatedPermissionIds": p(kStrings)}),
		def("appRole", map[string]prop{
			"allowedMemberTypes": p(kStrings), "description": p(kString), "displayName": p(kString), "id": p(kGUID),
			"isEnabled": p(kBool), "origin": ro(kString), "value": p(kString),
		}),
		def("permissionScope", map[string]prop{
			"adminConsentDescription": p(kString), "adminConsentDisplayName": p(kString), "id": p(kGUID),
			"isEnabled": p(kBool), "origin": ro(kString), "type": p(kString), "userConsentDescription": p(kString),
			"userConsentDisplayName": p(kString), "value": p(kString),
		}),
		def("informationalUrl", map[string]prop{
			"logoUrl": ro(kString), "marketingUrl": p(kString), "privacyStatementUrl": p(kString),
			"supportUrl": p(kString), "termsOfServiceUrl": p(kString),
		}),
		def("parentalControlSettings", map[string]prop{"countriesBlockedForMinors": p(kStrings), "legalAgeGroupRule": p(kString)}),
		def("authenticationBehaviors", map[string]prop{
			"blockAzureADGraphAccess": p(kBool), "removeUnverifiedEmailClaim": p(kBool), "requireClientServicePrincipal": p(kBool),
		}),
		def("addIn", map[string]prop{"id": p(kGUID), "properties": objs("keyValue"), "type": p(kString)}),
		def("keyValue", map[string]prop{"key": p(kString), "value": p(kString)}),
		def("federatedIdentityCredential", map[string]prop{
			"id": ro(kGUID), "audiences": p(kStrings), "description": p(kString), "issuer": p(kString),
			"name": p(kString), "subject": p(kString),
		}),
	} {
		types[t.name] = t
	}
}

// bodyError is a request body that the real service refuses with 400.
type bodyError struct{ code, msg string }

func (e *bodyError) Error() string { return e.msg }

// validate checks a decoded JSON object against type t: every property must be declared,
// writable unless allowReadOnly, and of the declared shape. path names the position for
// messages.
func validate(t *typeDef, v map[string]any, allowReadOnly bool) error {
	for name, val := range v {
		if name == "@odata.type" {
			s, _ := val.(string)
			if want := "#microsoft.graph." + t.name; s != want && strings.TrimPrefix(s, "#") != "microsoft.graph."+t.name {
				// UNCONFIRMED: the exact message for a mismatched @odata.type.
				return &bodyError{"BadRequest", fmt.Sprintf("A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", strings.TrimPrefix(s, "#"))}
			}
			continue
		}
		if strings.Contains(name, "@odata.") {
			// UNCONFIRMED: instance annotations other than @odata.type are not accepted here.
			return &bodyError{"BadRequest", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, t.name)}
		}
		pr, ok := t.props[name]
		if !ok || pr.kind == kNav {
			// UNCONFIRMED for directory resources: the OData reader's text, as other Graph
			// workloads return it, with code BadRequest.
			return &bodyError{"BadRequest", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, t.name)}
		}
		if pr.readOnly && !allowReadOnly {
			// UNCONFIRMED: Graph's text for writing a read-only directory property.
			return &bodyError{"Request_BadRequest", fmt.Sprintf("Property '%s' is read-only and cannot be set.", name)}
		}
		if err := checkValue(pr, name, val, allowReadOnly); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(pr prop, name string, val any, allowReadOnly bool) error {
	if val == nil {
		return nil
	}
	bad := func(edm string) error {
		// UNCONFIRMED: the OData reader's conversion message, as seen in Graph responses.
		return &bodyError{"BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type '%s'.", shortValue(val), edm)}
	}
	switch pr.kind {
	case kString:
		if _, ok := val.(string); !ok {
			return bad("Edm.String")
		}
	case kBool:
		if _, ok := val.(bool); !ok {
			return bad("Edm.Boolean")
		}
	case kInt:
		n, ok := val.(json.Number)
		if !ok {
			return bad("Edm.Int32")
		}
		if _, err := n.Int64(); err != nil {
			return bad("Edm.Int32")
		}
	case kTime:
		s, ok := val.(string)
		if !ok {
			return bad("Edm.DateTimeOffset")
		}
		if _, err := parseTime(s); err != nil {
			return bad("Edm.DateTimeOffset")
		}
	case kGUID:
		s, ok := val.(string)
		if !ok || !isGUID(s) {
			return bad("Edm.Guid")
		}
	case kStrings:
		a, ok := val.([]any)
		if !ok {
			return &bodyError{"BadRequest", fmt.Sprintf("A node of type 'StartObject' was read from the JSON reader when trying to read the start of a collection for property '%s'.", name)}
		}
		for _, e := range a {
			if _, ok := e.(string); !ok {
				return bad("Edm.String")
			}
		}
	case kObject:
		m, ok := val.(map[string]any)
		if !ok {
			return bad("microsoft.graph." + pr.typ)
		}
		return validate(types[pr.typ], m, allowReadOnly)
	case kObjects:
		a, ok := val.([]any)
		if !ok {
			return &bodyError{"BadRequest", fmt.Sprintf("A node of type 'StartObject' was read from the JSON reader when trying to read the start of a collection for property '%s'.", name)}
		}
		for _, e := range a {
			m, ok := e.(map[string]any)
			if !ok {
				return bad("microsoft.graph." + pr.typ)
			}
			if err := validate(types[pr.typ], m, allowReadOnly); err != nil {
				return err
			}
		}
	}
	return nil
}

func shortValue(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// merge applies a PATCH body to stored: complex properties merge recursively, collections
// and primitives are replaced as a whole.
// UNCONFIRMED: Graph documents neither rule for applications; this is OData 4.01 PATCH.
func merge(t *typeDef, stored, patch map[string]any) {
	for name, val := range patch {
		if name == "@odata.type" {
			continue
		}
		pr := t.props[name]
		if pr.kind == kObject {
			if m, ok := val.(map[string]any); ok {
				cur, _ := stored[name].(map[string]any)
				if cur == nil {
					cur = defaults(types[pr.typ])
				}
				cur = cloneMap(cur)
				merge(types[pr.typ], cur, m)
				stored[name] = cur
				continue
			}
		}
		if pr.kind == kObjects {
			if a, ok := val.([]any); ok {
				out := make([]any, 0, len(a))
				for _, e := range a {
					m, _ := e.(map[string]any)
					full := defaults(types[pr.typ])
					merge(types[pr.typ], full, m)
					out = append(out, full)
				}
				stored[name] = out
				continue
			}
		}
		stored[name] = cloneValue(val)
	}
}

// defaults returns the object as Graph returns it when nothing was set: every declared
// structural property, null or empty.
func defaults(t *typeDef) map[string]any {
	m := make(map[string]any, len(t.props))
	for name, pr := range t.props {
		switch pr.kind {
		case kNav:
		case kStrings, kObjects:
			m[name] = []any{}
		case kObject:
			m[name] = defaults(types[pr.typ])
		default:
			m[name] = nil
		}
	}
	return m
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}
