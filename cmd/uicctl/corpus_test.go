package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/useitcloud/uicctl/pkg/spec"
)

// runInProcess runs the CLI in this process, for tests that need many runs to stay fast.
func runInProcess(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(dir)
	var o, e bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &o, &e, func(string) string { return "" })
	return code, o.String(), e.String()
}

// snapshot records every file under dir with its content, to prove a command wrote nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusBad runs validate on every malformed spec of testdata/corpus/bad: each gives its
// exact expected output (want.txt, refreshed with -update), exit 1, and writes nothing.
func TestCorpusBad(t *testing.T) {
	cases, err := filepath.Glob("../../testdata/corpus/bad/*")
	if err != nil || len(cases) < 25 {
		t.Fatalf("corpus has %d cases (err %v), want at least 25", len(cases), err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			abs, _ := filepath.Abs(dir)
			before := snapshot(t, abs)
			code, stdout, stderr := runInProcess(t, abs, "validate", "partner.yaml")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			got := "-- stdout --\n" + stdout + "-- stderr --\n" + stderr
			golden := filepath.Join(abs, "want.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden output (run go test -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("validate output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, snapshot(t, abs)); diff != "" {
				t.Errorf("validate changed files (-before +after):\n%s", diff)
			}
		})
	}
}

// TestSchemaAgreesWithValidate validates the whole corpus with a real JSON Schema validator:
// every good spec passes both; every bad spec fails validate, and the schema rejects it too
// unless the case is marked SCHEMA_ACCEPTS (checks the schema cannot express: across fields
// or files, or secret-looking values).
func TestSchemaAgreesWithValidate(t *testing.T) {
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec.JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(spec.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(spec.SchemaID)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	schemaValid := func(file string) (bool, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return false, err
		}
		var v, extra any
		dec := yaml.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&v); err != nil || v == nil {
			return false, nil // not YAML (or empty): nothing a schema could accept
		}
		if dec.Decode(&extra) == nil {
			return false, nil // several documents are not one instance
		}
		j, err := json.Marshal(v)
		if err != nil {
			return false, nil
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			return false, err
		}
		return sch.Validate(inst) == nil, nil
	}
	files, _ := filepath.Glob("../../testdata/corpus/*/*/partner.yaml")
	examples, _ := filepath.Glob("../../examples/fleet/tenants/*/partner.yaml")
	for _, f := range append(files, examples...) {
		name := strings.TrimPrefix(filepath.Dir(f), "../../")
		t.Run(name, func(t *testing.T) {
			_, diags := spec.Load(f)
			validateOK := len(diags) == 0
			schemaOK, err := schemaValid(f)
			if err != nil {
				t.Fatal(err)
			}
			_, statErr := os.Stat(filepath.Join(filepath.Dir(f), "SCHEMA_ACCEPTS"))
			wantSchema := validateOK || statErr == nil
			if schemaOK != wantSchema {
				t.Errorf("schema valid = %v, validate valid = %v (SCHEMA_ACCEPTS marker: %v)", schemaOK, validateOK, statErr == nil)
			}
		})
	}
}
