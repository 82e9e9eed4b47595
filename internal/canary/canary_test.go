package canary

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScanFindsEveryForm(t *testing.T) {
	var s Set
	v := s.Plant("clientSecret")
	if !strings.HasPrefix(v, Prefix+"clientSecret-") {
		t.Fatalf("value %q lacks the prefix", v)
	}
	jsonBytes, _ := json.Marshal(map[string][]byte{"k": []byte(v)})
	tests := map[string]struct {
		reason string
		data   string
		want   []Leak
	}{
		"clean":      {reason: "no canary, no leak", data: "uicctl: error: secrets file is malformed"},
		"clear":      {reason: "the value as is", data: "token=" + v + "&x", want: []Leak{{"out", "clientSecret", "clear"}}},
		"base64":     {reason: "encoded in a header", data: "Basic " + base64.StdEncoding.EncodeToString([]byte(v)), want: []Leak{{"out", "clientSecret", "base64"}}},
		"json bytes": {reason: "a []byte field marshalled to JSON is base64", data: string(jsonBytes), want: []Leak{{"out", "clientSecret", "base64"}}},
		"hex upper":  {reason: "%X of the value", data: strings.ToUpper(hex.EncodeToString([]byte(v))), want: []Leak{{"out", "clientSecret", "hex"}}},
		"query":      {reason: "form-encoded request body", data: "client_secret=" + url.QueryEscape(v), want: []Leak{{"out", "clientSecret", "url-escaped"}}},
		"quoted":     {reason: "%q", data: fmt.Sprintf("%q", v), want: []Leak{{"out", "clientSecret", "clear"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := s.Scan("out", []byte(tc.data))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if r := Report(got); strings.Contains(r, v) {
				t.Error("the report itself quotes the canary")
			}
		})
	}
}

func TestScanDir(t *testing.T) {
	var s Set
	v := s.Plant("refreshToken")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"ok":true}`), 0o600)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "sub", "plan.json"), []byte(`{"token":"`+v+`"}`), 0o600)
	os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte(v), 0o600)
	got, err := s.ScanDir(dir, func(rel string) bool { return rel == "plain.yaml" })
	if err != nil {
		t.Fatal(err)
	}
	want := []Leak{{"sub/plan.json", "refreshToken", "clear"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScanDir (-want +got):\n%s", diff)
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(f, args...))
}

func TestCheck(t *testing.T) {
	var s Set
	v := s.Plant("clientSecret")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "out.json"), []byte(v), 0o600)
	os.WriteFile(filepath.Join(dir, "ok.json"), []byte("{}"), 0o600)
	r := &recorder{TB: t}
	s.Check(r, map[string]string{"stdout": "fine", "stderr": "uicctl: error: " + v}, []string{dir})
	want := []string{
		`canary "clientSecret" leaked into stderr (clear)`,
		`canary "clientSecret" leaked into out.json (clear)`,
	}
	if diff := cmp.Diff(want, r.errs); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	r = &recorder{TB: t}
	s.Check(r, map[string]string{"stdout": "fine"}, []string{dir}, "out.json")
	if len(r.errs) != 0 {
		t.Errorf("excepted file still reported: %v", r.errs)
	}
}
