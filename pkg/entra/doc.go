// Package entra talks to Microsoft Graph through msgraph-sdk-go (its subpackages only):
// it observes a partner's app registration, service principals and consent in one $batch
// and applies the changes a plan asks for, classifying errors as retryable or not.
//
// The Go API is not stable; the CLI is the contract.
package entra
