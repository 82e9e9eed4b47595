package entra

import (
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

// SetTestOnlyTransport lets the external tests trust the sandbox CA.
func SetTestOnlyTransport(rt http.RoundTripper) { testOnlyTransport = rt }

// SetTestOnlyLookPath decides whether the Azure CLI "exists".
func SetTestOnlyLookPath(f func(string) (string, error)) { testOnlyLookPath = f }

// NewCredentialFrom is NewCredential reading variables from getenv instead of the process.
func NewCredentialFrom(c cloud.Cloud, getenv func(string) string) (azcore.TokenCredential, error) {
	return newCredential(c, getenv)
}
