package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"filippo.io/age"

	"github.com/useitcloud/uicctl/examples/ci"
	"github.com/useitcloud/uicctl/internal/atomicfile"
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type initCmd struct {
	Dir          string   `arg:"" default:"." help:"Fleet repository folder (created when missing)."`
	Name         string   `help:"Add a tenant with this name (lower-case letters, digits, dashes)."`
	TenantID     string   `name:"tenant-id" placeholder:"GUID" help:"The tenant's ID (Partner Center > Organization profile > Microsoft ID); needed with --name."`
	AgeRecipient []string `name:"age-recipient" placeholder:"age1..." help:"Who can decrypt the secrets files; default: the public keys in your sops age key file."`
	KeyVault     string   `name:"key-vault" placeholder:"URL" help:"Deliver the tenant's credentials to this Azure Key Vault (delivery.keyVault in its partner.yaml); with --name."`
	SopsAzureKV  string   `name:"sops-azure-kv" placeholder:"KEY_URL" help:"Encrypt the secrets files (also) with this Azure Key Vault key, https://VAULT.vault.azure.net/keys/NAME[/VERSION], so CI signed in to Azure needs no age key (.sops.yaml)."`
}

// initError is a scaffolding request that cannot be carried out.
type initError struct{ msg, hint string }

func (e *initError) Error() string { return e.msg }
func (e *initError) Hint() string  { return e.hint }

func (c *initCmd) Run(app *App) error {
	if (c.Name == "") != (c.TenantID == "") {
		return &initError{"--name and --tenant-id go together", "uicctl init DIR --name contoso --tenant-id <GUID> adds a tenant"}
	}
	if c.Name != "" && !spec.ValidName(c.Name) {
		return &initError{"invalid --name", "use lower-case letters, digits and dashes, at most 63, such as contoso-eu"}
	}
	if c.TenantID != "" && !spec.ValidGUID(c.TenantID) {
		return &initError{"--tenant-id is not a GUID", "the Microsoft ID from Partner Center > Organization profile"}
	}
	if c.KeyVault != "" {
		if c.Name == "" {
			return &initError{"--key-vault goes with --name", "uicctl init DIR --name contoso --tenant-id <GUID> --key-vault https://contoso-uic.vault.azure.net/"}
		}
		u, msg := spec.NormalizeVaultURL(c.KeyVault)
		if msg != "" {
			return &initError{"--key-vault: " + msg, "the vault's URI from the portal (Overview > Vault URI), such as https://contoso-uic.vault.azure.net/"}
		}
		c.KeyVault = u
	}
	if c.SopsAzureKV != "" && !azureKeyURLRE.MatchString(c.SopsAzureKV) {
		return &initError{"--sops-azure-kv is not a Key Vault key URL", "https://VAULT.vault.azure.net/keys/NAME, optionally followed by /VERSION (az keyvault key show --query key.kid)"}
	}
	for _, r := range c.AgeRecipient {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return &initError{"--age-recipient is not an age public key", "an age recipient starts with age1; age-keygen -y KEYFILE prints yours"}
		}
	}

	files := []scaffoldFile{{".gitignore", 0o644, gitignoreTemplate}}
	workflows := ci.Workflows()
	if c.SopsAzureKV != "" {
		workflows = ci.AzureKVWorkflows()
	}
	for _, w := range workflows {
		files = append(files, scaffoldFile{filepath.Join(".github", "workflows", w.Name), 0o644, string(w.Content)})
	}
	sopsPath := filepath.Join(c.Dir, ".sops.yaml")
	if _, err := os.Stat(sopsPath); errors.Is(err, fs.ErrNotExist) {
		recipients := c.AgeRecipient
		if len(recipients) == 0 {
			recipients = defaultRecipients(app)
		}
		if len(recipients) == 0 && c.SopsAzureKV == "" {
			return &initError{"no age recipient for .sops.yaml",
				"pass --age-recipient age1... (age-keygen -o key.txt creates a key pair; keep key.txt out of the repository), or --sops-azure-kv KEY_URL"}
		}
		files = append(files, scaffoldFile{".sops.yaml", 0o644, sopsTemplate(recipients, c.SopsAzureKV)})
	} else {
		files = append(files, scaffoldFile{".sops.yaml", 0o644, ""}) // kept as it is
	}
	if c.Name != "" {
		cl, err := cloud.Lookup(app.Cloud)
		if err != nil {
			return err
		}
		content := partnerTemplate(c.Name, strings.ToLower(c.TenantID), c.KeyVault, cl.BillingExportUnavailable() == "")
		if _, diags := spec.Parse("partner.yaml", []byte(content)); len(diags) > 0 {
			return fmt.Errorf("cannot scaffold a valid partner.yaml: %s", diags[0])
		}
		files = append(files, scaffoldFile{filepath.Join("tenants", c.Name, spec.SpecFileName), 0o644, content})
	}

	w := &errWriter{w: app.Stdout}
	for _, f := range files {
		p := filepath.Join(c.Dir, f.path)
		created, err := f.create(p)
		if err != nil {
			return err
		}
		if created {
			w.printf("created %s\n", p)
		} else {
			w.printf("kept    %s (exists)\n", p)
		}
	}
	if c.Name == "" {
		w.printf("next: uicctl init %s --name NAME --tenant-id GUID adds a tenant\n", c.Dir)
	} else {
		w.printf("next: review %s, then uicctl validate %s\n", filepath.Join(c.Dir, "tenants", c.Name, spec.SpecFileName), c.Dir)
	}
	return w.err
}

type scaffoldFile struct {
	path    string
	mode    fs.FileMode
	content string // empty: never created here, only reported as kept
}

// create writes the file unless it exists: never overwritten, never half-written.
func (f scaffoldFile) create(path string) (bool, error) {
	if f.content == "" {
		return false, nil
	}
	return atomicfile.CreateNew(path, []byte(f.content), f.mode)
}

// defaultRecipients reads the public keys noted in the user's sops age key file, the same
// file sops decrypts with, so a consultant who already uses sops needs no flag. The private
// keys in that file are never copied anywhere.
func defaultRecipients(app *App) []string {
	path := app.Getenv("SOPS_AGE_KEY_FILE")
	if path == "" {
		dir := app.Getenv("XDG_CONFIG_HOME")
		if dir == "" {
			home := app.Getenv("HOME")
			if home == "" {
				return nil
			}
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "sops", "age", "keys.txt")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if r, ok := strings.CutPrefix(line, "# public key: "); ok {
			if _, err := age.ParseX25519Recipient(r); err == nil {
				out = append(out, r)
			}
		}
	}
	if len(out) > 0 {
		app.Log.Info("using the public keys of the sops age key file", "file", path, "recipients", len(out))
	}
	return out
}

// azureKeyURLRE is a Key Vault key URL as sops's azure_keyvault takes it.
var azureKeyURLRE = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]+)?/keys/[0-9A-Za-z-]{1,127}(/[0-9a-fA-F]{32})?$`)

func sopsTemplate(recipients []string, azureKey string) string {
	s := `# sops creation rules: who can decrypt the tenants' secrets files.
# To add a person or a CI key, append its age recipient below, then re-encrypt every file:
#   sops updatekeys tenants/*/secrets.sops.yaml
creation_rules:
  - path_regex: (^|/)secrets\.sops\.yaml$
    # Only the secret values are encrypted: keyIds, dates and the account stay readable in
    # reviews and for uicctl validate without keys (docs/secrets.md).
    encrypted_regex: ^value$
`
	if azureKey != "" {
		s += `    # An Azure Key Vault key wraps the data key: whoever signs in to Azure with the Key
    # Vault Crypto User role on it decrypts (CI by OIDC, no key file; docs/keyvault.md).
    azure_keyvault: ` + azureKey + "\n"
	}
	if len(recipients) > 0 {
		s += "    age: >-\n      " + strings.Join(recipients, ",\n      ") + "\n"
	}
	return s
}

// partnerTemplate is the partner.yaml init writes. Where the cloud has the Graph billing
// export, the permissions are written out with Graph's PartnerBilling.Read.All, so that
// verify.usage auto (the default) proves the data path Use IT Cloud reads new-commerce
// usage through; elsewhere they stay the commented defaults.
func partnerTemplate(name, tenantID, keyVault string, billingExport bool) string {
	delivery := `# delivery:
#   keyVault:
#     url: https://` + name + `-uic.vault.azure.net/
`
	if keyVault != "" {
		delivery = `# The four credentials are also delivered to this vault (docs/keyvault.md); the names are
# the defaults.
delivery:
  keyVault:
    url: ` + keyVault + `
    # names:
    #   tenantId: uic-` + name + `-tenant-id
    #   clientId: uic-` + name + `-client-id
    #   clientSecret: uic-` + name + `-client-secret
    #   refreshToken: uic-` + name + `-refresh-token
`
	}
	head, perms := "# application:\n", `#   permissions:
#     - api: partner-center
#       delegated: [user_impersonation]
#     - api: microsoft-partner
#       delegated: [user_impersonation]
`
	if billingExport {
		head = "application:\n"
		perms = `  # The two delegated permissions are what Use IT Cloud calls Partner Center with. Graph's
  # PartnerBilling.Read.All (application, granted by adminConsent) lets the nightly verify
  # (verify.usage: auto) run the partner billing export, where Microsoft moved new-commerce
  # usage; without it verify falls back to Partner Center's v1 unbilled call, which holds
  # legacy-commerce usage only (docs/verify.md#usage).
  permissions:
    - api: partner-center
      delegated: [user_impersonation]
    - api: microsoft-partner
      delegated: [user_impersonation]
    - api: microsoft-graph
      application: [PartnerBilling.Read.All]
`
	}
	return `# Desired Entra and Partner Center configuration of ` + name + `.
# Reference: docs/partner-yaml.md. Editor support: uicctl schema > partner.schema.json
apiVersion: uicctl/v1
kind: Partner
name: ` + name + `
tenantId: ` + tenantID + `
# The defaults reproduce the documented manual onboarding; uncomment to change them.
` + head + `#   displayName: Partner Center Web App
#   uniqueName: uicctl-` + name + `
#   signInAudience: AzureADMultipleOrgs
#   redirectUris: [http://localhost:8400/]
#   adminConsent: true
#   preconsent: false
#   clientSecret: {displayName: uicctl, lifetime: 180d, renewBefore: 30d}
` + perms + `# partnerCenter:
#   appManagement: registered
#   consent: {account: svc-uic@example.onmicrosoft.com, maxAge: 60d}
# verify:
#   usage: auto
#   currency: USD
# secrets: secrets.sops.yaml
` + delivery
}

const gitignoreTemplate = `# Never commit decrypted secrets or private keys.
*.dec.yaml
*.decrypted.*
*.agekey
keys.txt
.uicctl/
# uicctl's lock and temporary files next to secrets files.
.*.sops.yaml.lock
.*.sops.yaml.tmp-*
`
