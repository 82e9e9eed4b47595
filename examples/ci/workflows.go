package ci

import (
	"embed"
	"io/fs"
)

//go:embed *.yml
var workflows embed.FS

// Workflow is a workflow file: its name under .github/workflows/ and its content.
type Workflow struct {
	Name    string
	Content []byte
}

// Workflows returns the workflows by name.
func Workflows() []Workflow {
	entries, err := fs.ReadDir(workflows, ".")
	if err != nil {
		panic(err) // the embedded folder is always readable
	}
	out := make([]Workflow, 0, len(entries))
	for _, e := range entries {
		b, err := workflows.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, Workflow{Name: e.Name(), Content: b})
	}
	return out
}
