package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestWriteHTML checks the page's structure; cmd/uicctl's TestVerifyHTMLChromium opens it
// in a browser.
func TestWriteHTML(t *testing.T) {
	r := fleet(day0)
	r.Tenants[1].Checks[2].Message += ` <script>alert(1)</script>`
	state := NextState(empty(), r, day0)
	var b bytes.Buffer
	if err := WriteHTML(&b, r, state, day0); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !IsHTML(b.Bytes()) || IsHTML([]byte("<!DOCTYPE html><title>other</title>")) {
		t.Errorf("IsHTML tells a verify report from another page wrongly")
	}
	tests := map[string]struct {
		reason string
		re     string
		count  int
	}{
		"no script":         {reason: "no script element, also not from a message", re: `<script`, count: 0},
		"escaped message":   {reason: "a message's markup is text", re: `&lt;script&gt;alert\(1\)&lt;/script&gt;`, count: 1},
		"no request":        {reason: "nothing is loaded: no src, no link, no url()", re: `\ssrc=|<link|url\(|@import`, count: 0},
		"sections":          {reason: "a section per tenant", re: `<section class="tenant `, count: 3},
		"worst first":       {reason: "beta (fail), gamma (warn), alpha (pass)", re: `(?s)id="t-beta".*id="t-gamma".*id="t-alpha"`, count: 1},
		"column headers":    {reason: "each table has column headers for screen readers", re: `<th scope="col">Check</th>`, count: 3},
		"row headers":       {reason: "each check row is headed by its name", re: `<th scope="row">`, count: 10},
		"failing since":     {reason: "from the state", re: `Failing since 2026-12-04\.`, count: 1},
		"consent command":   {reason: "the to-do list names the command", re: `<code>uicctl consent tenants/beta</code>`, count: 1},
		"marks":             {reason: "a mark per deadline within 180 days: 3 client secrets, 3 idle, 3 maxAge", re: `<g class="mark"><title>`, count: 9},
		"today":             {reason: "today is marked", re: `<line class="today"`, count: 1},
		"warn band":         {reason: "gamma's secret is within renewBefore: its band starts before today and is clipped to it", re: `<rect class="band"`, count: 7},
		"status not colour": {reason: "statuses have icons and words: beta's heading, its failed check, the filter", re: `✗ fail`, count: 3},
		"dark mode":         {reason: "dark mode colours", re: `prefers-color-scheme:dark`, count: 1},
		"print":             {reason: "a print style", re: `@media print`, count: 1},
		"expired outline":   {reason: "beta's refresh token is 20 days old: nothing expired", re: `expired"`, count: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := len(regexp.MustCompile(tc.re).FindAllStringIndex(page, -1)); got != tc.count {
				t.Errorf("%s: %d matches of %s, want %d", tc.reason, got, tc.re, tc.count)
			}
		})
	}
	if t.Failed() {
		t.Logf("%s", page)
	}
	// The text report and the page have the same to-do list.
	var text bytes.Buffer
	WriteTodoText(&text, NewTodo(r))
	if !strings.Contains(text.String(), "uicctl consent tenants/beta") {
		t.Errorf("text to-do: %s", text.String())
	}
}
