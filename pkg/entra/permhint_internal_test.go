package entra

import (
	"strings"
	"testing"
)

// TestAppWriteHintsNameReadWriteAll: the application writes of apply (upsert, addPassword,
// removePassword, the service principal) on an adopted app (application.appId, import)
// touch an app the operator did not create, which Application.ReadWrite.OwnedBy cannot
// change; so a 403 names Application.ReadWrite.All and never offers OwnedBy.
func TestAppWriteHintsNameReadWriteAll(t *testing.T) {
	for name, op := range map[string]operation{
		"upsert": opUpsertApp, "addPassword": opAddPassword, "removePassword": opRemovePassword, "service principal": opCreateSP,
	} {
		t.Run(name, func(t *testing.T) {
			e := &PermissionError{TenantID: "t", Operation: op.what, Permission: op.permission}
			if op.permission != PermApplicationReadWriteAll {
				t.Errorf("%s needs %s, want %s (an adopted app is not the operator's)", op.what, op.permission, PermApplicationReadWriteAll)
			}
			if text := e.Error() + " " + e.Hint(); strings.Contains(text, "OwnedBy") {
				t.Errorf("the error offers OwnedBy, which cannot change an adopted app: %s", text)
			}
		})
	}
}
