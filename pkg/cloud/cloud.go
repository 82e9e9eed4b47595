package cloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
)

// A Cloud is the set of base URLs and token audiences uicctl talks to.
//
// Login is the authority host (sign-in endpoints are served at its root, routed by tenant:
// MSAL drops any path prefix). Graph, PartnerCenter and PartnerAPI are API base URLs
// without a trailing slash; PartnerCenter includes the version segment (".../v1").
type Cloud struct {
	Name          string `json:"name"`
	Login         string `json:"login"`
	Graph         string `json:"graph"`
	PartnerCenter string `json:"partnerCenter"`
	PartnerAPI    string `json:"partnerApi"`

	// Token audiences (resource identifiers). A cloud file does not name them: the sandbox
	// issues tokens for the public audiences, so files default to those.
	GraphAudience         string `json:"-"`
	PartnerCenterAudience string `json:"-"`
	PartnerAPIAudience    string `json:"-"`
}

// The public audiences, which the sandbox also uses.
const (
	PublicGraphAudience         = "https://graph.microsoft.com"
	PublicPartnerCenterAudience = "https://api.partnercenter.microsoft.com"
	PublicPartnerAPIAudience    = "https://api.partner.microsoft.com"
)

// Public is the global Microsoft cloud.
var Public = Cloud{
	Name:                  "public",
	Login:                 "https://login.microsoftonline.com/",
	Graph:                 "https://graph.microsoft.com/v1.0",
	PartnerCenter:         "https://api.partnercenter.microsoft.com/v1",
	PartnerAPI:            "https://api.partner.microsoft.com",
	GraphAudience:         PublicGraphAudience,
	PartnerCenterAudience: PublicPartnerCenterAudience,
	PartnerAPIAudience:    PublicPartnerAPIAudience,
}

// USGov is the US Government cloud (GCC High / DoD sign-in and Graph).
var USGov = Cloud{
	Name:  "usgov",
	Login: "https://login.microsoftonline.us/",
	Graph: "https://graph.microsoft.us/v1.0",
	// Partner Center PowerShell's USGovernment environment pairs the .us authority with the
	// global Partner Center endpoint (EnvironmentConstants.PartnerCenterEndpoint).
	PartnerCenter: "https://api.partnercenter.microsoft.com/v1",
	// UNCONFIRMED: the Partner API (price sheet) is documented for the global cloud only.
	PartnerAPI:            "https://api.partner.microsoft.com",
	GraphAudience:         "https://graph.microsoft.us",
	PartnerCenterAudience: PublicPartnerCenterAudience,
	PartnerAPIAudience:    PublicPartnerAPIAudience,
}

// China is the cloud operated by 21Vianet.
var China = Cloud{
	Name:  "china",
	Login: "https://login.chinacloudapi.cn/",
	Graph: "https://microsoftgraph.chinacloudapi.cn/v1.0",
	// Partner Center PowerShell's EnvironmentConstants.ChinaPartnerCenterEndpoint.
	PartnerCenter: "https://partner.partnercenterapi.microsoftonline.cn/v1",
	// UNCONFIRMED: no Partner API (price sheet) host is documented for 21Vianet; the
	// global host is kept so that the set is complete.
	PartnerAPI:            "https://api.partner.microsoft.com",
	GraphAudience:         "https://microsoftgraph.chinacloudapi.cn",
	PartnerCenterAudience: "https://partner.partnercenterapi.microsoftonline.cn",
	PartnerAPIAudience:    PublicPartnerAPIAudience,
}

var named = map[string]Cloud{Public.Name: Public, USGov.Name: USGov, China.Name: China}

// Names returns the names of the built-in clouds, sorted.
func Names() []string {
	var n []string
	for k := range named {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Lookup returns the built-in cloud called nameOrFile, or else loads the cloud file at that
// path. The empty string means Public.
func Lookup(nameOrFile string) (Cloud, error) {
	if nameOrFile == "" {
		return Public, nil
	}
	if c, ok := named[nameOrFile]; ok {
		return c, nil
	}
	if !strings.ContainsAny(nameOrFile, `/\.`) {
		return Cloud{}, &unknownError{name: nameOrFile}
	}
	return Load(nameOrFile)
}

type unknownError struct{ name string }

func (e *unknownError) Error() string {
	return fmt.Sprintf("unknown cloud %q", e.name)
}

func (e *unknownError) Hint() string {
	return fmt.Sprintf("use one of %s, or the path of a cloud file (JSON with login, graph, partnerCenter and partnerApi)", strings.Join(Names(), ", "))
}

// Load reads a cloud file: JSON {"name","login","graph","partnerCenter","partnerApi"}.
// Unknown keys are errors; every URL must be absolute https.
func Load(path string) (Cloud, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Cloud{}, fmt.Errorf("cannot read cloud file: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return Cloud{}, fmt.Errorf("cannot load cloud file %q: %w", path, err)
	}
	return c, nil
}

// Parse decodes and checks the JSON of a cloud file.
func Parse(b []byte) (Cloud, error) {
	var c Cloud
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Cloud{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return Cloud{}, errors.New("invalid JSON: data after the object")
	}
	var errs []error
	for _, f := range []struct{ key, v string }{
		{"login", c.Login}, {"graph", c.Graph}, {"partnerCenter", c.PartnerCenter}, {"partnerApi", c.PartnerAPI},
	} {
		if err := checkURL(f.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.key, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Cloud{}, err
	}
	if c.Name == "" {
		c.Name = "file"
	}
	// MSAL parses the authority as scheme://host/{tenant}: the login base must end in "/".
	if !strings.HasSuffix(c.Login, "/") {
		c.Login += "/"
	}
	c.Graph = strings.TrimSuffix(c.Graph, "/")
	c.PartnerCenter = strings.TrimSuffix(c.PartnerCenter, "/")
	c.PartnerAPI = strings.TrimSuffix(c.PartnerAPI, "/")
	c.GraphAudience = PublicGraphAudience
	c.PartnerCenterAudience = PublicPartnerCenterAudience
	c.PartnerAPIAudience = PublicPartnerAPIAudience
	return c, nil
}

func checkURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	// azidentity refuses authority hosts without https, and tokens must not travel in clear.
	if u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an absolute https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must not have a query or fragment")
	}
	return nil
}

// Marshal returns the cloud file JSON for c (indented, with a final newline).
func (c Cloud) Marshal() []byte {
	b, _ := json.MarshalIndent(c, "", "  ")
	return append(b, '\n')
}

// Scope returns the client_credentials scope ("{audience}/.default") of an audience.
func Scope(audience string) string {
	return strings.TrimSuffix(audience, "/") + "/.default"
}

// BillingExportUnavailable says why the Graph partner billing export (reconciliation API
// v2) cannot be used in the cloud, or "" when it can. Microsoft documents the API for the
// global cloud only: "You can use these APIs for the MS Graph public/global cloud only now.
// They aren't yet available for Azure Government or Azure China 21Vianet."
// (https://learn.microsoft.com/partner-center/developer/get-billed-unbilled-usage-reconciliation;
// the national-cloud table of https://learn.microsoft.com/graph/api/partners-billing-manifest-get
// marks US Government L4, L5 and 21Vianet unavailable.) A cloud file is taken as global:
// it is how the sandbox, which emulates the global cloud, is reached.
func (c Cloud) BillingExportUnavailable() string {
	switch c.Name {
	case USGov.Name:
		return "Microsoft documents the Graph partner billing export for the global cloud only, not for US Government"
	case China.Name:
		return "Microsoft documents the Graph partner billing export for the global cloud only, not for 21Vianet (China)"
	}
	return ""
}
