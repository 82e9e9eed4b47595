package entra

import (
	"encoding/base64"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOperationsNeedOnlyOperatorPermissions: every Graph call the operator makes names, for
// its 403, a permission of OperatorPermissions; a new call that needs another one fails
// here until the
// permission joins OperatorPermissions with its command, call and reason, and with it
// docs/operator.md, spec.OperatorGraphRoles and the sandbox's operator (which the tests of
// cmd/uicctl hold together). Billing's export runs as the partner's own app.
func TestOperationsNeedOnlyOperatorPermissions(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{
		"PermApplicationReadWriteAll": PermApplicationReadWriteAll, "PermAppRoleAssignmentReadWriteAll": PermAppRoleAssignmentReadWriteAll,
		"PermDelegatedGrantReadWriteAll": PermDelegatedGrantReadWriteAll, "PermGroupMemberReadWriteAll": PermGroupMemberReadWriteAll,
		"PolicyPermission": PolicyPermission,
	}
	var names []string
	for _, p := range OperatorPermissions {
		names = append(names, p.Name)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, isID := lit.Type.(*ast.Ident); !isID || id.Name != "operation" || len(lit.Elts) != 2 {
				return true
			}
			seen++
			var perm string
			switch v := lit.Elts[1].(type) {
			case *ast.Ident:
				var known bool
				if perm, known = consts[v.Name]; !known {
					t.Errorf("%s: operation names the constant %s: add it to this test's map", fset.Position(lit.Pos()), v.Name)
					return true
				}
			case *ast.BasicLit:
				perm, _ = strconv.Unquote(v.Value)
			}
			if perm == "PartnerBilling.Read.All" && f == "billing.go" {
				return true
			}
			if !slices.Contains(names, perm) {
				t.Errorf("%s: an operation needs %q, which OperatorPermissions does not list", fset.Position(lit.Pos()), perm)
			}
			return true
		})
	}
	if seen < 10 {
		t.Fatalf("found %d operations: is the parse right?", seen)
	}
}

func TestTokenWids(t *testing.T) {
	jwt := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	tests := map[string]struct {
		reason  string
		token   string
		want    []string
		wantErr bool
	}{
		"roles": {reason: "wids are read, lower-cased, sorted and deduplicated",
			token: jwt(`{"wids":["E8611AB8-C189-46E8-94E1-60213AB1F814","158c047a-c907-4556-b7ef-446551a6b5f7","158c047a-c907-4556-b7ef-446551a6b5f7"]}`),
			want:  []string{"158c047a-c907-4556-b7ef-446551a6b5f7", "e8611ab8-c189-46e8-94e1-60213ab1f814"}},
		"none":      {reason: "Entra omits wids for a user without roles", token: jwt(`{"oid":"x"}`)},
		"not guids": {reason: "untrusted text that is no GUID is dropped, never shown", token: jwt(`{"wids":["<script>"]}`)},
		"not a jwt": {reason: "an opaque token is an error", token: "opaque", wantErr: true},
		"bad json":  {reason: "a payload that is not JSON is an error", token: jwt(`{`), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tokenWids(tc.token)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v, want error %v", tc.reason, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: wids (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
