package entra

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCountLines(t *testing.T) {
	long := strings.Repeat(`{"partnerId":"p","quantity":1.5}`+"\n", 70000) // several read buffers
	tests := map[string]struct {
		reason  string
		blob    []byte
		want    int
		wantErr bool
	}{
		"empty":            {reason: "an empty export has no rows", blob: gzipped(t, ""), want: 0},
		"newline-ended":    {reason: "JSON Lines end each row with a newline", blob: gzipped(t, "{}\n{}\n"), want: 2},
		"last line open":   {reason: "a last row without its newline still counts", blob: gzipped(t, "{}\n{}"), want: 2},
		"many buffers":     {reason: "counted across reads, not in one piece", blob: gzipped(t, long), want: 70000},
		"not gzip":         {reason: "a plain body is refused", blob: []byte("{}\n"), wantErr: true},
		"truncated gzip":   {reason: "a cut-off download is an error, not a smaller count", blob: gzipped(t, long)[:2000], wantErr: true},
		"two gzip members": {reason: "concatenated gzip members are one stream", blob: append(gzipped(t, "{}\n"), gzipped(t, "{}\n{}\n")...), want: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := countLines(bytes.NewReader(tc.blob))
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: error %v, want error %v", tc.reason, err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" && !tc.wantErr {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
		})
	}
}

func TestLastSegment(t *testing.T) {
	const ops = "/reports/partners/billing/operations/"
	tests := map[string]struct {
		reason, in, want string
	}{
		"location":       {reason: "the documented Location", in: "https://graph.microsoft.com/v1.0/reports/partners/billing/operations/abc-1", want: "abc-1"},
		"escaped":        {reason: "the id is unescaped", in: "https://graph.microsoft.com/v1.0" + ops + "a%20b", want: "a b"},
		"other resource": {reason: "a Location that names something else gives no id", in: "https://graph.microsoft.com/v1.0/applications/x", want: ""},
		"nested":         {reason: "no deeper path is taken for an id", in: "https://graph.microsoft.com/v1.0" + ops + "a/b", want: ""},
		"empty":          {reason: "no header", in: "", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, lastSegment(tc.in, ops)); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
		})
	}
}

// TestBlobErrorScrubbed: a storage error that reflects the request (the SAS signature, a
// bearer token, a carriage return) is scrubbed before it becomes the error's text.
func TestBlobErrorScrubbed(t *testing.T) {
	body := "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidHeaderValue</Code><Message>echo &#xD;GET /c/b?sv=2022&amp;sig=AbCsEcReT%2B%3D Authorization: Bearer opaque.tok-123\nRequestId:6a1d7c3e-2b4f-4e89-8c5d-1f0a9b7e3d24</Message></Error>"
	res := &http.Response{StatusCode: 400, Header: http.Header{"X-Ms-Error-Code": {"InvalidHeaderValue"}}, Body: io.NopCloser(strings.NewReader(body))}
	got := blobError("t1", res).Error()
	want := `tenant t1: cannot download the export blob: storage answered 400 InvalidHeaderValue: echo \x0dGET /c/b?sv=2022&sig=[redacted] Authorization: Bearer [redacted]`
	if got != want {
		t.Errorf("blobError =\n%q\nwant\n%q", got, want)
	}
}
