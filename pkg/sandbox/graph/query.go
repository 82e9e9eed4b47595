package graph

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

const (
	defaultPageSize = 100
	maxPageSize     = 999
)

// listSpec describes a collection for $filter/$select and its @odata.context.
type listSpec struct {
	typ        string          // entity type, for $select
	resource   string          // resource name in error messages, e.g. "Application"
	filterable map[string]bool // properties $filter may compare
	context    string          // context path, e.g. "applications"
}

// query is a parsed query string.
type query struct {
	filter  filterExpr
	sel     []string
	top     int
	after   string // $skiptoken: the id after which the page starts
	count   bool
	rawRest string // the query without $skiptoken, for the next link
}

// parseQuery parses the OData system query options of a collection request and writes
// the 400 itself when they are invalid.
func (c *ctx) parseQuery(spec listSpec) (*query, bool) {
	q := &query{top: defaultPageSize}
	var rest []string
	for _, part := range strings.Split(c.r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			c.fail(http.StatusBadRequest, "BadRequest", "The query specified in the URI is not valid.")
			return nil, false
		}
		if name != "$skiptoken" {
			rest = append(rest, part)
		}
		switch strings.TrimPrefix(name, "$") {
		case "filter":
			f, err := parseFilter(val)
			if err != nil {
				c.fail(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
				return nil, false
			}
			if bad := f.unsupported(spec.filterable); bad != "" {
				c.fail(http.StatusBadRequest, "Request_UnsupportedQuery",
					fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", bad, spec.resource))
				return nil, false
			}
			q.filter = f
		case "select":
			if !c.parseSelect(spec.typ, val, &q.sel) {
				return nil, false
			}
		case "top":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxPageSize {
				// UNCONFIRMED: the directory's text for an out-of-range page size.
				c.fail(http.StatusBadRequest, "Request_BadRequest",
					fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", val, maxPageSize))
				return nil, false
			}
			q.top = n
		case "skiptoken":
			b, err := base64.RawURLEncoding.DecodeString(val)
			if err != nil || !strings.HasPrefix(string(b), "after:") {
				// UNCONFIRMED: the text for a skip token the service did not issue.
				c.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid paging token.")
				return nil, false
			}
			q.after = strings.TrimPrefix(string(b), "after:")
		case "count":
			q.count = val == "true"
			if q.count && !strings.EqualFold(c.r.Header.Get("ConsistencyLevel"), "eventual") {
				// Directory objects need ConsistencyLevel: eventual for $count (aad-advanced-queries).
				// UNCONFIRMED: the exact text.
				c.fail(http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
				return nil, false
			}
		case "expand", "orderby", "search":
			// UNCONFIRMED: the sandbox supports none of these; Graph would.
			c.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
			return nil, false
		}
	}
	q.rawRest = strings.Join(rest, "&")
	return q, true
}

// parseSelect validates a $select list against type typ.
func (c *ctx) parseSelect(typ, val string, out *[]string) bool {
	sel := []string{}
	for _, name := range strings.Split(val, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		pr, ok := types[typ].props[name]
		if !ok || pr.kind == kNav {
			// UNCONFIRMED: the OData parser's message as Graph returns it.
			c.fail(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, typ))
			return false
		}
		sel = append(sel, name)
	}
	*out = sel
	return true
}

// list writes one page of items (already visible to the caller) as a collection.
func (c *ctx) list(items []object, spec listSpec, q *query) {
	matched := items[:0:0]
	for _, it := range items {
		if q.filter == nil || q.filter.eval(it) {
			matched = append(matched, it)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return idOf(matched[i]) < idOf(matched[j]) })
	start := 0
	if q.after != "" {
		start = sort.Search(len(matched), func(i int) bool { return idOf(matched[i]) > q.after })
	}
	end := min(start+q.top, len(matched))
	ctxURL := c.base + "/$metadata#" + spec.context
	if q.sel != nil {
		ctxURL += "(" + strings.Join(q.sel, ",") + ")"
	}
	page := make([]any, 0, end-start)
	for _, it := range matched[start:end] {
		out := c.entityOut(it, "", q.sel)
		delete(out, "@odata.context")
		page = append(page, out)
	}
	resp := map[string]any{"@odata.context": ctxURL, "value": page}
	if q.count {
		resp["@odata.count"] = len(matched)
	}
	if end < len(matched) {
		path := c.r.URL.EscapedPath()
		if i := strings.Index(path, "/v1.0"); i >= 0 {
			path = path[i+len("/v1.0"):]
		}
		tok := base64.RawURLEncoding.EncodeToString([]byte("after:" + idOf(matched[end-1])))
		link := c.base + path + "?"
		if q.rawRest != "" {
			link += q.rawRest + "&"
		}
		resp["@odata.nextLink"] = link + "$skiptoken=" + tok
	}
	c.json(http.StatusOK, resp)
}

func idOf(o object) string {
	s, _ := o["id"].(string)
	return s
}

// filterExpr is a parsed $filter.
type filterExpr interface {
	eval(o object) bool
	unsupported(allowed map[string]bool) string // the first property not allowed, or ""
}

type cmpExpr struct {
	op, prop string
	lit      any // string, bool or nil
}

func (e cmpExpr) eval(o object) bool {
	v := o[e.prop]
	switch e.op {
	case "eq":
		if s, ok := e.lit.(string); ok {
			// Directory string comparisons ignore case.
			vs, ok := v.(string)
			return ok && strings.EqualFold(vs, s)
		}
		return v == e.lit
	case "ne":
		return !(cmpExpr{"eq", e.prop, e.lit}).eval(o)
	case "any":
		list, _ := v.([]any)
		s, _ := e.lit.(string)
		for _, it := range list {
			if is, ok := it.(string); ok && strings.EqualFold(is, s) {
				return true
			}
		}
		return false
	case "startswith":
		vs, ok := v.(string)
		s, _ := e.lit.(string)
		return ok && strings.HasPrefix(strings.ToLower(vs), strings.ToLower(s))
	}
	return false
}

func (e cmpExpr) unsupported(allowed map[string]bool) string {
	if !allowed[e.prop] {
		return e.prop
	}
	return ""
}

type boolExpr struct {
	and  bool
	l, r filterExpr
}

func (e boolExpr) eval(o object) bool {
	if e.and {
		return e.l.eval(o) && e.r.eval(o)
	}
	return e.l.eval(o) || e.r.eval(o)
}

func (e boolExpr) unsupported(allowed map[string]bool) string {
	if s := e.l.unsupported(allowed); s != "" {
		return s
	}
	return e.r.unsupported(allowed)
}

// parseFilter parses the subset of OData $filter that the directory supports on the
// properties the sandbox serves: eq (and ne) comparisons, startswith, and, or, parentheses.
func parseFilter(s string) (filterExpr, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("syntax error at position %d in '%s'.", p.toks[p.i].pos, s)
	}
	return e, nil
}

type token struct {
	kind byte // 'w' word, 's' string literal, '(' ')' ','
	text string
	pos  int
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ':
			i++
		case ch == '(' || ch == ')' || ch == ',' || ch == ':':
			toks = append(toks, token{ch, string(ch), i})
			i++
		case ch == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("there is an unterminated string literal at position %d in '%s'.", i, s)
			}
			toks = append(toks, token{'s', b.String(), i})
			i = j + 1
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_' || s[j] == '-' || s[j] == '.' || s[j] == '/') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("syntax error: character '%c' is not valid at position %d in '%s'.", ch, i, s)
			}
			toks = append(toks, token{'w', s[i:j], i})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks []token
	i    int
}

func (p *filterParser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == 'w' && p.toks[p.i].text == w
}

func (p *filterParser) or() (filterExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = boolExpr{false, l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterExpr, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.i++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = boolExpr{true, l, r}
	}
	return l, nil
}

func (p *filterParser) expect(kind byte) (token, error) {
	if p.i >= len(p.toks) {
		return token{}, fmt.Errorf("expression expected at the end of the filter.")
	}
	t := p.toks[p.i]
	if t.kind != kind {
		return token{}, fmt.Errorf("syntax error at position %d.", t.pos)
	}
	p.i++
	return t, nil
}

func (p *filterParser) term() (filterExpr, error) {
	if p.i >= len(p.toks) {
		return nil, fmt.Errorf("expression expected at the end of the filter.")
	}
	t := p.toks[p.i]
	if t.kind == '(' {
		p.i++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return e, nil
	}
	if t.kind == 'w' && strings.EqualFold(t.text, "startswith") {
		p.i++
		for _, k := range []byte{'('} {
			if _, err := p.expect(k); err != nil {
				return nil, err
			}
		}
		prop, err := p.expect('w')
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(','); err != nil {
			return nil, err
		}
		lit, err := p.expect('s')
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return cmpExpr{"startswith", prop.text, lit.text}, nil
	}
	prop, err := p.expect('w')
	if err != nil {
		return nil, err
	}
	if coll, ok := strings.CutSuffix(prop.text, "/any"); ok {
		return p.anyTerm(coll)
	}
	op, err := p.expect('w')
	if err != nil || (op.text != "eq" && op.text != "ne") {
		return nil, fmt.Errorf("syntax error at position %d: 'eq' expected.", prop.pos+len(prop.text)+1)
	}
	if p.i >= len(p.toks) {
		return nil, fmt.Errorf("expression expected at the end of the filter.")
	}
	lt := p.toks[p.i]
	p.i++
	switch {
	case lt.kind == 's':
		return cmpExpr{op.text, prop.text, lt.text}, nil
	case lt.kind == 'w' && lt.text == "null":
		return cmpExpr{op.text, prop.text, nil}, nil
	case lt.kind == 'w' && (lt.text == "true" || lt.text == "false"):
		return cmpExpr{op.text, prop.text, lt.text == "true"}, nil
	case lt.kind == 'w' && isGUID(lt.text):
		return cmpExpr{op.text, prop.text, lt.text}, nil
	}
	return nil, fmt.Errorf("syntax error at position %d: literal expected.", lt.pos)
}

// anyTerm parses the rest of "coll/any(x:x eq 'v')", the lambda the directory supports on
// string collections such as identifierUris and servicePrincipalNames.
func (p *filterParser) anyTerm(coll string) (filterExpr, error) {
	if _, err := p.expect('('); err != nil {
		return nil, err
	}
	v, err := p.expect('w')
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(':'); err != nil {
		return nil, err
	}
	v2, err := p.expect('w')
	if err != nil || v2.text != v.text {
		return nil, fmt.Errorf("the lambda variable '%s' is not in scope.", v2.text)
	}
	if op, err := p.expect('w'); err != nil || op.text != "eq" {
		return nil, fmt.Errorf("syntax error: 'eq' expected in the lambda.")
	}
	lit, err := p.expect('s')
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(')'); err != nil {
		return nil, err
	}
	return cmpExpr{"any", coll, lit.text}, nil
}
