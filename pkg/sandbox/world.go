package sandbox

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"

	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
)

// A World is what the sandbox generated: the operator app's home tenant and the partner
// tenants with their accounts and customers. The same seed and size give the same world.
// It is what --world FILE writes.
type World struct {
	Operator Operator `json:"operator"`
	Tenants  []Tenant `json:"tenants"`
}

// Operator names the operator app and its home tenant. Its secret is only in the env file.
type Operator struct {
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	// Domain is the home tenant's domain; Consultant is the consultant's account there (an
	// Application Administrator of the home tenant, who registers the operator app).
	Domain     string  `json:"domain"`
	Consultant Account `json:"consultant"`
}

// OperatorDomain is the domain of the operator's home tenant.
const OperatorDomain = "uicoperator.onmicrosoft.com"

// A Tenant is one partner tenant.
type Tenant struct {
	Name      string     `json:"name"`
	TenantID  string     `json:"tenantId"`
	Domain    string     `json:"domain"`
	Accounts  []Account  `json:"accounts"`
	Customers []Customer `json:"customers"`
	// KeyVault is the tenant's vault (RBAC; the operator is Key Vault Secrets Officer and
	// Crypto Officer on it), with an RSA key named sops.
	KeyVault KeyVault `json:"keyVault"`
}

// KeyVault names a partner tenant's vault. Clients reach it at URL through the sandbox's
// proxy (HTTPS_PROXY of the env file).
type KeyVault struct {
	Name    string `json:"vaultName"` // not "name": scripts find tenants by their "name" keys
	URL     string `json:"url"`
	SopsKey string `json:"sopsKey"` // the URL of the key sops uses, versionless
}

// vaultFor names the vault of tenant name: NAME-uic, 3-24 characters as Azure requires.
func vaultFor(name string) KeyVault {
	n := name
	if len(n) > 20 {
		n = n[:20]
	}
	n += "-uic"
	return KeyVault{Name: n, URL: "https://" + keyvault.Host(n) + "/", SopsKey: "https://" + keyvault.Host(n) + "/keys/sops"}
}

// An Account is a user of a partner tenant who can sign in on the authorize page. The first
// account of every tenant is the consent account (an Admin agent with MFA).
type Account struct {
	UPN      string `json:"upn"`
	Password string `json:"password"`
	// MFA reports whether the account has MFA; MFACode is the one code the sign-in page
	// accepts for it (the sandbox has no authenticator app).
	MFA      bool   `json:"mfa"`
	MFACode  string `json:"mfaCode,omitempty"`
	ObjectID string `json:"objectId"`
	// Admin marks the tenant's Global Administrator: the account that may approve the
	// operator app on the admin consent endpoint.
	Admin bool `json:"admin,omitempty"`
}

// A Customer is a CSP customer of a partner tenant.
type Customer struct {
	ID            string         `json:"id"` // the customer tenant ID, as Partner Center uses it
	CompanyName   string         `json:"companyName"`
	Domain        string         `json:"domain"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// The offer IDs of the sandbox's Azure subscriptions. The legacy one is Microsoft's
// "Microsoft Azure (MS-AZR-0145P)" (https://learn.microsoft.com/partner-center/developer/create-azure-plan);
// UNCONFIRMED: the offerId a Partner Center subscription of an Azure plan carries (the
// plan's product is DZH318Z0BPS6).
const (
	legacyAzureOffer = "MS-AZR-0145P"
	azurePlanOffer   = "DZH318Z0BPS6:0001"
)

// hashID folds an ID into a seed.
func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// A Subscription of a customer. Azure ones (legacy MS-AZR-0145P and Azure plans) have
// usage; only legacy ones have Azure utilization.
type Subscription struct {
	ID           string `json:"id"`
	OfferID      string `json:"offerId"`
	OfferName    string `json:"offerName"`
	FriendlyName string `json:"friendlyName"`
	Quantity     int    `json:"quantity"`
	Azure        bool   `json:"azure"`
}

var partnerNames = []string{"contoso", "fabrikam", "northwind", "tailspin", "wingtip", "adatum", "litware", "proseware", "woodgrove", "fourthcoffee"}

var customerNames = []string{"Alpine Ski House", "Bellows College", "Coho Winery", "Datum Corporation", "Fincher Architects",
	"Graphic Design Institute", "Humongous Insurance", "Lamna Healthcare", "Margie's Travel", "Nod Publishers",
	"Relecloud", "School of Fine Art", "Trey Research", "VanArsdel", "Wide World Importers"}

// generateWorld builds the world of n partner tenants with c customers each from seed.
func generateWorld(seed int64, n, c int) World {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5a4db0c5))
	w := World{Operator: Operator{TenantID: uuid(r), ClientID: uuid(r)}}
	for i := range n {
		name := partnerNames[i%len(partnerNames)]
		if i >= len(partnerNames) {
			name = fmt.Sprintf("%s%d", name, i/len(partnerNames)+1)
		}
		domain := name + ".onmicrosoft.com"
		t := Tenant{Name: name, TenantID: uuid(r), Domain: domain, KeyVault: vaultFor(name)}
		for _, user := range []string{"svc-uic", "admin"} {
			t.Accounts = append(t.Accounts, Account{
				UPN:      user + "@" + domain,
				Password: password(r),
				MFA:      true,
				MFACode:  fmt.Sprintf("%06d", r.IntN(1000000)),
				ObjectID: uuid(r),
				Admin:    user == "admin",
			})
		}
		for j := range c {
			cn := customerNames[(i+j)%len(customerNames)]
			cd := strings.ToLower(strings.NewReplacer(" ", "", "'", "").Replace(cn)) + fmt.Sprintf("%d%d", i+1, j+1) + ".onmicrosoft.com"
			cu := Customer{ID: uuid(r), CompanyName: cn, Domain: cd}
			azure := Subscription{ID: uuid(r), OfferID: legacyAzureOffer, OfferName: "Microsoft Azure", FriendlyName: "Azure " + cn, Quantity: 1, Azure: true}
			m365 := Subscription{ID: uuid(r), OfferID: "CFQ7TTC0LH18:0001", OfferName: "Microsoft 365 Business Basic", FriendlyName: "Microsoft 365 Business Basic", Quantity: 5 + r.IntN(50)}
			// Azure plans come first, so that "the first subscription" is one the utilization
			// API does not support; the first customer has no legacy Azure subscription at
			// all (a partner with one customer has none). The plan's ID is derived from the
			// customer's, so the rest of the world stays what the seed always gave.
			plan := Subscription{ID: uuid(rand.New(rand.NewPCG(uint64(seed), hashID(cu.ID)))), OfferID: azurePlanOffer, OfferName: "Azure plan", FriendlyName: "Azure plan " + cn, Quantity: 1, Azure: true}
			if j == 0 {
				plan.ID = azure.ID
				cu.Subscriptions = []Subscription{plan, m365}
			} else {
				cu.Subscriptions = []Subscription{plan, azure, m365}
			}
			t.Customers = append(t.Customers, cu)
		}
		w.Tenants = append(w.Tenants, t)
	}
	// Drawn last, so that the partner tenants of a seed stay what they were before the
	// consultant existed.
	w.Operator.Domain = OperatorDomain
	w.Operator.Consultant = Account{UPN: "consultant@" + OperatorDomain, Password: password(r), MFA: true,
		MFACode: fmt.Sprintf("%06d", r.IntN(1000000)), ObjectID: uuid(r), Admin: true}
	return w
}

// uuid returns a version 4 UUID drawn from r, so that worlds are reproducible.
func uuid(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func password(r *rand.Rand) string {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b strings.Builder
	b.WriteString("Sbx-")
	for range 12 {
		b.WriteByte(letters[r.IntN(len(letters))])
	}
	return b.String()
}
