package sandbox

import (
	"fmt"
	"net/http"
	"time"
)

// An aadError is an Entra token endpoint error: the `error` code, the AADSTS number and its
// text, and the HTTP status. Texts follow the Entra error code reference
// (reference-error-codes.md) and the messages the real service prints.
type aadError struct {
	status int
	err    string // OAuth error code
	code   int    // AADSTS number
	msg    string
}

func (e *aadError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.msg) }

func errTenantNotFound(tenant string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)}
}

func errMissingParam(name string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", name)}
}

func errMissingSecret() *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

func errAppNotFound(appID, tenant string) *aadError {
	// The `error` value is unauthorized_client in the troubleshooting tables the facts cite.
	return &aadError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", appID, tenant)}
}

func errInvalidSecret(appID string) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)}
}

func errSecretExpired(appID string) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", appID)}
}

func errInvalidGrant() *aadError {
	return &aadError{http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed."}
}

func errCodeExpired() *aadError {
	// UNCONFIRMED: the `error` value for 70008 is not in the reference table.
	return &aadError{http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."}
}

func errRefreshInactive(issued time.Time) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_grant", 700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00.", issued.UTC().Format("2006-01-02T15:04:05.0000000Z"))}
}

func errRevoked(issued, validFrom time.Time) *aadError {
	// UNCONFIRMED: the `error` value for 50173 is not in the reference table.
	return &aadError{http.StatusBadRequest, "invalid_grant", 50173, fmt.Sprintf("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.", issued.UTC().Format("2006-01-02T15:04:05.0000000Z"), validFrom.UTC().Format("2006-01-02T15:04:05.0000000Z"))}
}

func errCodeRedeemed() *aadError {
	// UNCONFIRMED: the `error` value for 54005 is not in the reference table.
	return &aadError{http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."}
}

func errPKCE() *aadError {
	return &aadError{http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."}
}

func errNoConsent(appID, appName string) *aadError {
	// UNCONFIRMED: the `error` value for 65001 at the token endpoint; invalid_grant is what
	// MSAL reports as a consent failure on refresh.
	return &aadError{http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", appID, appName)}
}

func errMFARequired(resource string) *aadError {
	// UNCONFIRMED: the `error` value for 50076 (interaction_required per the facts sheet).
	return &aadError{http.StatusBadRequest, "interaction_required", 50076, fmt.Sprintf("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", resource)}
}

func errRedirectMismatch(uri, appID string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", 50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", uri, appID)}
}

func errUnsupportedGrant(g string) *aadError {
	return &aadError{http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", g)}
}

func errResourceNotFound(resource, tenant string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, tenant)}
}

func errDefaultScopeRequired(scope string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
}

func errSpecificTenant(tenant string) *aadError {
	// UNCONFIRMED: the number for an app-only request on /common or /organizations.
	return &aadError{http.StatusBadRequest, "invalid_request", 900023, fmt.Sprintf("Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", tenant)}
}

func errInvalidRequest(msg string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", 900144, msg}
}

// The errors of client assertions and workload identity federation. Texts are those Entra
// printed in reported answers (Azure/login, azure-workload-identity and MSAL issues).

const assertionTime = "2006-01-02T15:04:05.0000000Z"

func errAssertionTime(now, nbf, exp time.Time) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .", now.UTC().Format(assertionTime), nbf.UTC().Format(assertionTime), exp.UTC().Format(assertionTime))}
}

func errNoFederatedRecord(iss, sub, aud string) *aadError {
	// UNCONFIRMED: that Entra still answers 70021 (its code before the issuer, subject and
	// audience codes below) for an app without any federated credential.
	return &aadError{http.StatusUnauthorized, "invalid_client", 70021, fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation", iss, sub, aud)}
}

func errFederatedIssuer(iss string) *aadError {
	// UNCONFIRMED: the HTTP status (reported bodies show invalid_client, which is 401 here).
	return &aadError{http.StatusUnauthorized, "invalid_client", 700211, fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation", iss)}
}

func errFederatedAudience(aud string) *aadError {
	// UNCONFIRMED: the HTTP status, as for 700211.
	return &aadError{http.StatusUnauthorized, "invalid_client", 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation", aud)}
}

func errFederatedSubject(sub string) *aadError {
	// UNCONFIRMED: the HTTP status, as for 700211.
	return &aadError{http.StatusUnauthorized, "invalid_client", 700213, fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation", sub)}
}

func errFederatedKey(kid, iss string) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 7000272, fmt.Sprintf("The certificate with identifier %s used to sign the federated credential could not be found in the metadata of identity provider %s. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.", kid, iss)}
}

func errAssertionSignature() *aadError {
	// UNCONFIRMED: that a federated assertion whose key is published but whose signature
	// does not verify gets 700027, the code of certificate assertions.
	return &aadError{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion contains an invalid signature."}
}

func errAssertionMalformed() *aadError {
	// UNCONFIRMED: the code and text for a client_assertion that is not a JWT.
	return &aadError{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
}

func errAssertionType(typ string) *aadError {
	// UNCONFIRMED: the code and text for another client_assertion_type.
	return &aadError{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf("The client_assertion_type '%s' is not supported; use 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.", typ)}
}
