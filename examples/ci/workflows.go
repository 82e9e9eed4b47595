package ci

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed *.yml azure-kv/*.yml
var workflows embed.FS

// Workflow is a workflow file: its name under .github/workflows/ and its content.
type Workflow struct {
	Name    string
	Content []byte
}

// Workflows returns the workflows by name.
func Workflows() []Workflow { return read(".") }

// AzureKVWorkflows are the workflows of a fleet whose secrets files are encrypted with an
// Azure Key Vault key: the nightly verify signs in to Azure by OIDC for sops too and needs no
// SOPS_AGE_KEY (the azure-kv folder holds the variants, by the same names).
func AzureKVWorkflows() []Workflow {
	out := Workflows()
	for _, v := range read("azure-kv") {
		for i := range out {
			if out[i].Name == v.Name {
				out[i] = v
			}
		}
	}
	return out
}

func read(dir string) []Workflow {
	entries, err := fs.ReadDir(workflows, dir)
	if err != nil {
		panic(err) // the embedded folder is always readable
	}
	out := make([]Workflow, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := workflows.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, Workflow{Name: e.Name(), Content: b})
	}
	return out
}
