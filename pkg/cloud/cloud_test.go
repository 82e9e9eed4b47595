package cloud

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"name":"sandbox","login":"https://127.0.0.1:8443","graph":"https://127.0.0.1:8443/graph/v1.0/","partnerCenter":"https://127.0.0.1:8443/partnercenter/v1","partnerApi":"https://127.0.0.1:8443/partnerapi"}`)
	unknownKey := write("unknown.json", `{"name":"x","login":"https://a/","graph":"https://a/g","partnerCenter":"https://a/p","partnerApi":"https://a/q","extra":1}`)
	plainHTTP := write("http.json", `{"login":"http://a/","graph":"https://a/g","partnerCenter":"https://a/p","partnerApi":"https://a/q"}`)
	missing := write("missing.json", `{"login":"https://a/"}`)

	cases := map[string]struct {
		reason  string
		arg     string
		want    Cloud
		wantErr bool
	}{
		"Empty":       {reason: "no --cloud means the public cloud", arg: "", want: Public},
		"Public":      {reason: "built-in names resolve without a file", arg: "public", want: Public},
		"USGov":       {reason: "built-in names resolve without a file", arg: "usgov", want: USGov},
		"China":       {reason: "built-in names resolve without a file", arg: "china", want: China},
		"UnknownName": {reason: "a bare word that is no cloud is an error, not a file lookup", arg: "moon", wantErr: true},
		"File": {reason: "a cloud file is normalised: login ends in /, APIs do not", arg: good, want: Cloud{
			Name: "sandbox", Login: "https://127.0.0.1:8443/", Graph: "https://127.0.0.1:8443/graph/v1.0",
			PartnerCenter: "https://127.0.0.1:8443/partnercenter/v1", PartnerAPI: "https://127.0.0.1:8443/partnerapi",
			GraphAudience: PublicGraphAudience, PartnerCenterAudience: PublicPartnerCenterAudience, PartnerAPIAudience: PublicPartnerAPIAudience,
		}},
		"UnknownKey": {reason: "unknown keys are errors, like in partner.yaml", arg: unknownKey, wantErr: true},
		"PlainHTTP":  {reason: "azidentity refuses an http authority", arg: plainHTTP, wantErr: true},
		"Missing":    {reason: "every endpoint is required", arg: missing, wantErr: true},
		"NoFile":     {reason: "a path that does not exist is an error", arg: filepath.Join(dir, "nope.json"), wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Lookup(tc.arg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s\nLookup(%q): err = %v, wantErr %v", tc.reason, tc.arg, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nLookup(%q): -want, +got:\n%s", tc.reason, tc.arg, diff)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	c := Cloud{Name: "sandbox", Login: "https://127.0.0.1:1/", Graph: "https://127.0.0.1:1/graph/v1.0",
		PartnerCenter: "https://127.0.0.1:1/partnercenter/v1", PartnerAPI: "https://127.0.0.1:1/partnerapi"}
	got, err := Parse(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	c.GraphAudience, c.PartnerCenterAudience, c.PartnerAPIAudience = PublicGraphAudience, PublicPartnerCenterAudience, PublicPartnerAPIAudience
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Parse(Marshal()): -want, +got:\n%s", diff)
	}
}
