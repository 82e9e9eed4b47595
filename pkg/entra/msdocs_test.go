package entra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kjson "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/partners/billing"
)

// graphModels are the msgraph-sdk-go models uicctl decodes Graph's answers into, by the
// "model" of a testdata/msdocs file.
var graphModels = map[string]absser.ParsableFactory{
	"application":                     models.CreateApplicationFromDiscriminatorValue,
	"applicationCollection":           models.CreateApplicationCollectionResponseFromDiscriminatorValue,
	"passwordCredential":              models.CreatePasswordCredentialFromDiscriminatorValue,
	"servicePrincipal":                models.CreateServicePrincipalFromDiscriminatorValue,
	"oAuth2PermissionGrant":           models.CreateOAuth2PermissionGrantFromDiscriminatorValue,
	"oAuth2PermissionGrantCollection": models.CreateOAuth2PermissionGrantCollectionResponseFromDiscriminatorValue,
	"appRoleAssignment":               models.CreateAppRoleAssignmentFromDiscriminatorValue,
	"appRoleAssignmentCollection":     models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue,
	"groupCollection":                 models.CreateGroupCollectionResponseFromDiscriminatorValue,
	"directoryObjectCollection":       models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
	"billingOperation":                billing.CreateOperationFromDiscriminatorValue,
	"billingManifest":                 billing.CreateManifestFromDiscriminatorValue,
}

// TestMSDocsDecode: every documented Graph answer of testdata/msdocs decodes into the SDK
// model uicctl reads it with, and each documented field survives (written back by the same
// model): a field the model does not know would be lost to uicctl.
func TestMSDocsDecode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "msdocs", "graph-*.json"))
	if len(files) == 0 {
		t.Fatal("no Graph files in testdata/msdocs")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var d struct {
				Model string          `json:"model"`
				Body  json.RawMessage `json:"body"`
			}
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Body) == 0 || d.Model == "" {
				return // no body (204, 202), or $batch's envelope, which msgraph-sdk-go-core reads
			}
			factory, ok := graphModels[d.Model]
			if !ok {
				t.Fatalf("unknown model %q", d.Model)
			}
			node, err := kjson.NewJsonParseNode(d.Body)
			if err != nil {
				t.Fatal(err)
			}
			v, err := node.GetObjectValue(factory)
			if err != nil || v == nil {
				t.Fatalf("decode into %s: %v", d.Model, err)
			}
			w := kjson.NewJsonSerializationWriter()
			if err := w.WriteObjectValue("", v); err != nil {
				t.Fatal(err)
			}
			out, _ := w.GetSerializedContent()
			var doc, back any
			json.Unmarshal(d.Body, &doc)
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("written back: %v\n%s", err, out)
			}
			if lost := lostFields("", doc, back); len(lost) > 0 {
				t.Errorf("%s loses documented fields: %v", d.Model, lost)
			}
		})
	}
}

// lostFields lists the documented fields (not null, not @odata.context) missing from back.
func lostFields(path string, doc, back any) []string {
	var out []string
	switch x := doc.(type) {
	case map[string]any:
		b, _ := back.(map[string]any)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if x[k] == nil || k == "@odata.context" {
				continue
			}
			bv, ok := b[k]
			if !ok {
				out = append(out, strings.TrimPrefix(path+"."+k, "."))
				continue
			}
			out = append(out, lostFields(path+"."+k, x[k], bv)...)
		}
	case []any:
		b, _ := back.([]any)
		if len(x) > 0 && len(b) > 0 {
			out = append(out, lostFields(path+"[0]", x[0], b[0])...)
		}
	}
	return out
}
