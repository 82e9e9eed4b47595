package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/useitcloud/uicctl/pkg/spec"
)

func init() {
	scriptCmds["jsonvar"] = cmdJSONVar
	scriptCmds["schemacheck"] = cmdSchemaCheck
}

// cmdJSONVar sets a script variable from a string field (a dotted path such as value.0.id) of the JSON the last
// command printed (such as graphcall's answer). With -canary the value is also a canary, and
// with -date only its date part is kept (2026-05-01 of 2026-05-01T10:00:00Z), and
// with -file F it is written to F for a later stdin (canary check -except F skips that file).
//
//	jsonvar [-canary] [-date] [-file F] NAME FIELD
func cmdJSONVar(ts *testscript.TestScript, neg bool, args []string) {
	canary, date, file := false, false, ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-canary":
			canary, args = true, args[1:]
		case "-date":
			date, args = true, args[1:]
		case "-file":
			if len(args) < 2 {
				ts.Fatalf("usage: jsonvar [-canary] [-date] [-file F] NAME FIELD")
			}
			file, args = args[1], args[2:]
		default:
			ts.Fatalf("unknown flag %s", args[0])
		}
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonvar [-canary] [-date] [-file F] NAME FIELD")
	}
	var doc any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &doc))
	for _, k := range strings.Split(args[1], ".") {
		switch x := doc.(type) {
		case map[string]any:
			doc = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("no element %s in the last output", args[1])
			}
			doc = x[i]
		}
	}
	v, ok := doc.(string)
	if !ok || v == "" {
		ts.Fatalf("no string field %q in the last output", args[1])
	}
	if date {
		v, _, _ = strings.Cut(v, "T")
	}
	ts.Setenv(args[0], v)
	if canary {
		canarySet(ts).Add(args[0], v)
	}
	if file != "" {
		ts.Check(os.WriteFile(ts.MkAbs(file), []byte(v+"\n"), 0o600))
	}
}

// cmdSchemaCheck validates a partner.yaml (YAML, read as JSON) against the JSON Schema that
// uicctl schema prints, as an editor using the schema would.
//
//	schemacheck FILE
func cmdSchemaCheck(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: schemacheck FILE")
	}
	sch, err := compileSpecSchema()
	ts.Check(err)
	err = validateYAMLAgainst(sch, []byte(ts.ReadFile(args[0])))
	switch {
	case neg && err == nil:
		ts.Fatalf("%s passes the JSON Schema", args[0])
	case !neg && err != nil:
		ts.Fatalf("%s: JSON Schema: %v", args[0], err)
	}
}

func compileSpecSchema() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec.JSONSchema()))
	if err != nil {
		return nil, err
	}
	if err := c.AddResource(spec.SchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(spec.SchemaID)
}

func validateYAMLAgainst(sch *jsonschema.Schema, text []byte) error {
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		return err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
