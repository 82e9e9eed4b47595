package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/logging"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// sops's loggers write to stderr on their own; uicctl reports through its errors instead,
// and some sops log lines quote file content (e.g. "possibly unencrypted comment").
func init() {
	for _, l := range logging.Loggers {
		l.SetOutput(io.Discard)
	}
}

// The sops CLI codes (cmd/sops/codes) that DecryptTree returns; they tell the failure kinds
// apart without parsing messages. The codes package itself is small but lives under cmd.
const (
	codeMACMismatch         = 51
	codeErrorDecryptingTree = 25
	codeCouldNotRetrieveKey = 128
)

// emptyMeansUnset are the sops variables that name a file or a command. sops treats a set
// but empty one as a file named "" or, for the commands, panics (sops 3.13.3,
// age/keysource.go getOutputFromCmd); CI systems and test harnesses often blank variables
// instead of unsetting them, and a blank variable means "not set" to a user.
var emptyMeansUnset = []string{
	"SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
}

func unsetBlankSopsVars() {
	for _, k := range emptyMeansUnset {
		if v, ok := os.LookupEnv(k); ok && strings.TrimSpace(v) == "" {
			os.Unsetenv(k)
		}
	}
}

// keyServices builds the key services the sops CLI would use in this environment: the local
// one unless SOPS_ENABLE_LOCAL_KEYSERVICE is false, plus every SOPS_KEYSERVICE address.
// The order of master key types comes from SOPS_DECRYPTION_ORDER, like the CLI.
func keyServices() (svcs []keyservice.KeyServiceClient, order []string, closeAll func(), err error) {
	unsetBlankSopsVars()
	var conns []*grpc.ClientConn
	closeAll = func() {
		for _, c := range conns {
			c.Close()
		}
	}
	local := true
	if v := os.Getenv("SOPS_ENABLE_LOCAL_KEYSERVICE"); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return nil, nil, closeAll, fmt.Errorf("SOPS_ENABLE_LOCAL_KEYSERVICE must be true or false")
		}
		local = b
	}
	if local {
		svcs = append(svcs, keyservice.NewLocalClient())
	}
	for _, uri := range splitList(os.Getenv("SOPS_KEYSERVICE")) {
		u, perr := url.Parse(uri)
		if perr != nil {
			closeAll()
			return nil, nil, func() {}, fmt.Errorf("SOPS_KEYSERVICE: cannot parse key service address %q", uri)
		}
		addr := uri
		opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if u.Scheme != "unix" {
			addr = u.Host
			scheme := u.Scheme
			opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, scheme, a)
			}))
		}
		conn, derr := grpc.NewClient(addr, opts...)
		if derr != nil {
			closeAll()
			return nil, nil, func() {}, fmt.Errorf("SOPS_KEYSERVICE: cannot use key service %q: %v", uri, derr)
		}
		conns = append(conns, conn)
		svcs = append(svcs, keyservice.NewKeyServiceClient(conn))
	}
	order = sops.DefaultDecryptionOrder
	if v := os.Getenv("SOPS_DECRYPTION_ORDER"); v != "" {
		order = splitList(v)
	}
	if len(svcs) == 0 {
		return nil, nil, closeAll, fmt.Errorf("no key service: SOPS_ENABLE_LOCAL_KEYSERVICE is false and SOPS_KEYSERVICE is empty")
	}
	return svcs, order, closeAll, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// doc is one secrets file as read from disk, structure checked, not yet decrypted.
type doc struct {
	path  string     // as the caller named it, for messages
	real  string     // resolved absolute path
	root  *yaml.Node // the document's top mapping, for positions
	tree  sops.Tree
	store *sopsyaml.Store
}

// parse checks everything that can be checked without a key: YAML, one mapping document,
// sops metadata present and readable. Errors never quote file content: the YAML parser's
// messages name lines and tokens only, and sops's own messages (which may quote values) are
// replaced by ours.
func parse(path, real string, raw []byte) (*doc, error) {
	var n yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &MalformedError{Path: path, Reason: "the file is empty"}
		}
		line, reason := yamlErrorLine(err)
		return nil, &MalformedError{Path: path, Line: line, Reason: "not valid YAML: " + reason}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &MalformedError{Path: path, Line: extra.Line, Reason: "more than one YAML document; a secrets file holds exactly one"}
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
		return nil, &MalformedError{Path: path, Line: n.Line, Reason: "the document is not a mapping of keys to values"}
	}
	root := n.Content[0]
	var meta *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "sops" {
			meta = root.Content[i+1]
		}
	}
	if meta == nil {
		return nil, &NotEncryptedError{Path: path}
	}
	if meta.Kind != yaml.MappingNode {
		return nil, &MalformedError{Path: path, Line: meta.Line, Column: meta.Column, KeyPath: "sops", Reason: "the sops metadata is not a mapping"}
	}
	// Loading does not depend on the indent; writing does, and finds it then (indentFor
	// walks up to the root looking for .sops.yaml, too slow to pay on every read).
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	tree, err := store.LoadEncryptedFile(raw)
	if err != nil {
		// Duplicate keys are legal for yaml.Node but not for sops; say which line. (Only
		// on this path: it is one more parse of the file.)
		if err := yaml.Unmarshal(raw, &map[string]any{}); err != nil {
			line, reason := yamlErrorLine(err)
			return nil, &MalformedError{Path: path, Line: line, Reason: reason}
		}
		return nil, &MalformedError{Path: path, Line: meta.Line, Column: meta.Column, KeyPath: "sops", Reason: "the sops metadata cannot be read"}
	}
	tree.FilePath = real
	if len(tree.Branches) != 1 {
		return nil, &MalformedError{Path: path, Reason: "more than one YAML document; a secrets file holds exactly one"}
	}
	if tree.Metadata.MasterKeyCount() == 0 {
		return nil, &MalformedError{Path: path, Line: meta.Line, Column: meta.Column, KeyPath: "sops", Reason: "the sops metadata lists no recipients"}
	}
	if tree.Metadata.MessageAuthenticationCode == "" {
		return nil, &MalformedError{Path: path, Line: meta.Line, Column: meta.Column, KeyPath: "sops.mac", Reason: "the sops metadata has no MAC"}
	}
	return &doc{path: path, real: real, root: root, tree: tree}, nil
}

var (
	yamlLineRE = regexp.MustCompile(`(?s)^yaml: (?:unmarshal errors:\s*)?line (\d+): (.*)$`)
	// The yaml.v3 messages that quote the input (decode.go, resolve.go of v3.0.6); the
	// scanner's own messages quote only YAML syntax ("did not find expected ',' or '}'").
	quotedRE = []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile("`[^`]*`"), "a value"},
		{regexp.MustCompile(`anchor '.*?'( referenced| value contains itself)`), "anchor$1"},
		{regexp.MustCompile(`mapping key ".*" already defined`), "a mapping key is already defined"},
		{regexp.MustCompile(`invalid map key: .*`), "invalid map key"},
	}
)

// yamlErrorLine splits a YAML parser error into its line and reason. Anything the parser
// quotes from the input (a value, a key, an anchor name) is dropped, since it could be a
// secret pasted in the wrong place; the line is enough.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	for _, q := range quotedRE {
		msg = q.re.ReplaceAllString(msg, q.with)
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// indentFor returns the YAML indent the sops CLI would use for this file: the stores.yaml
// setting of the .sops.yaml that applies to it, else sops's default. Using it keeps our
// rewrites byte-compatible with `sops set`.
func indentFor(real string) int {
	confPath, _ := findConfig(real)
	if confPath == "" {
		return 0
	}
	sc, err := config.LoadStoresConfig(confPath)
	if err != nil {
		return 0
	}
	return sc.YAML.Indent
}

// findConfig finds the .sops.yaml for a file: SOPS_CONFIG when set (as the CLI's --config),
// else the nearest .sops.yaml in the file's folder or a parent folder. The CLI searches from
// the current directory instead; starting at the file makes the result independent of where
// uicctl runs, and equal to the CLI's when run from the fleet repository.
func findConfig(real string) (string, error) {
	if p := os.Getenv("SOPS_CONFIG"); p != "" {
		return p, nil
	}
	res, err := config.LookupConfigFile(real)
	if err != nil {
		return "", err
	}
	return res.Path, nil
}

// recipients lists the file's master keys as "type recipient".
func (d *doc) recipients() []string {
	var out []string
	for _, g := range d.tree.Metadata.KeyGroups {
		for _, k := range g {
			out = append(out, k.TypeToIdentifier()+" "+k.ToString())
		}
	}
	return out
}

// positionOf returns the line and column of the value at a key path in the on-disk file.
func (d *doc) positionOf(path []string) (int, int) {
	cur := d.root
	line, col := 0, 0
	for _, k := range path {
		if cur == nil || cur.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == k {
				line, col = cur.Content[i].Line, cur.Content[i].Column
				next = cur.Content[i+1]
			}
		}
		cur = next
	}
	return line, col
}

func (d *doc) problems(ps []Problem) []Problem {
	for i := range ps {
		ps[i].Line, ps[i].Column = d.positionOf(strings.Split(ps[i].KeyPath, "."))
	}
	return ps
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// decrypt decrypts the tree in place with the CLI's DecryptTree (MAC checked) and returns
// the data key and the cipher, whose IV stash lets unchanged values keep their ciphertext
// when the tree is encrypted again.
func (d *doc) decrypt() (_ []byte, _ aes.Cipher, err error) {
	cipher := aes.NewCipher()
	defer recoverSops(d.path, &err)
	svcs, order, closeAll, err := keyServices()
	defer closeAll()
	if err != nil {
		return nil, cipher, err
	}
	key, err := common.DecryptTree(common.DecryptTreeOpts{
		Tree: &d.tree, KeyServices: svcs, DecryptionOrder: order, Cipher: cipher,
	})
	if err == nil {
		return key, cipher, nil
	}
	// Never wrap sops's error: its text may quote values, and its ExitCode method would
	// leak sops's exit codes into uicctl's.
	var coded interface{ ExitCode() int }
	code := 0
	if errors.As(err, &coded) {
		code = coded.ExitCode()
	}
	switch code {
	case codeCouldNotRetrieveKey:
		if mk := malformedAgeKey(d.path); mk != nil {
			return nil, cipher, mk
		}
		return nil, cipher, &NoKeyError{
			Path:       d.path,
			Recipients: d.recipients(),
			Looked:     d.lookedIn(),
			Detail:     ansiRE.ReplaceAllString(err.Error(), ""),
		}
	case codeMACMismatch:
		return nil, cipher, &IntegrityError{Path: d.path, MAC: true}
	case codeErrorDecryptingTree:
		return nil, cipher, &IntegrityError{Path: d.path}
	}
	return nil, cipher, fmt.Errorf("cannot decrypt secrets file %q (sops exit code %d)", d.path, code)
}

// recoverSops turns a panic inside sops (a key source fed unexpected input) into an error,
// so one tenant's odd environment does not take the whole fleet run down.
func recoverSops(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("cannot use the keys for secrets file %q: sops failed unexpectedly (%v)", path, r)
	}
}

// lookedIn names where the sops key sources of this file's key types look for keys. It
// describes sops 3.13.3's search (age/keysource.go, pgp/keysource.go); the search itself is
// sops's own.
func (d *doc) lookedIn() []string {
	types := map[string]bool{}
	for _, g := range d.tree.Metadata.KeyGroups {
		for _, k := range g {
			types[k.TypeToIdentifier()] = true
		}
	}
	var out []string
	if types["age"] {
		out = append(out, ageLocations()...)
	}
	if types["pgp"] {
		home := os.Getenv("GNUPGHOME")
		if home == "" {
			if h, err := os.UserHomeDir(); err == nil {
				home = filepath.Join(h, ".gnupg")
			}
		}
		out = append(out, "the GnuPG keyring in "+home)
	}
	for _, t := range []string{"kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"} {
		if types[t] {
			out = append(out, t+" with the provider's default credentials")
		}
	}
	return out
}

// malformedAgeKey checks the age key sources the user set explicitly (SOPS_AGE_KEY and
// SOPS_AGE_KEY_FILE): one that holds no parsable identity explains a failed decryption
// better than "no key matches". Plugin identities are sops's to judge and are skipped.
func malformedAgeKey(path string) *MalformedKeyError {
	parses := func(text string) bool {
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "AGE-PLUGIN-") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			return strings.Contains(text, "AGE-PLUGIN-")
		}
		_, err := age.ParseIdentities(strings.NewReader(strings.Join(lines, "\n")))
		return err == nil
	}
	if v := os.Getenv("SOPS_AGE_KEY"); strings.TrimSpace(v) != "" && !parses(v) {
		return &MalformedKeyError{Path: path, Source: "SOPS_AGE_KEY"}
	}
	if f := os.Getenv("SOPS_AGE_KEY_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return &MalformedKeyError{Path: path, Source: "SOPS_AGE_KEY_FILE (" + f + ")", Unreadable: true}
		}
		if !parses(string(b)) {
			return &MalformedKeyError{Path: path, Source: "SOPS_AGE_KEY_FILE (" + f + ")"}
		}
	}
	return nil
}

func ageLocations() []string {
	out := []string{"SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD"}
	if dir, err := os.UserConfigDir(); err == nil {
		out = append(out, filepath.Join(dir, "sops", "age", "keys.txt"))
	}
	out = append(out, "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD")
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		out = append(out, filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "id_rsa"))
	}
	return out
}

// encrypt re-encrypts the tree with the data key it was decrypted with (recipients and
// wrapped keys untouched, MAC and lastmodified recomputed) and emits the file.
func (d *doc) encrypt(key []byte, cipher aes.Cipher) ([]byte, error) {
	if err := common.EncryptTree(common.EncryptTreeOpts{DataKey: key, Tree: &d.tree, Cipher: cipher}); err != nil {
		return nil, fmt.Errorf("cannot encrypt secrets file %q", d.path)
	}
	store := d.store
	if store == nil {
		store = sopsyaml.NewStore(&config.YAMLStoreConfig{Indent: indentFor(d.real)})
	}
	out, err := store.EmitEncryptedFile(d.tree)
	if err != nil {
		return nil, fmt.Errorf("cannot write secrets file %q as YAML", d.path)
	}
	return out, nil
}

// newDoc encrypts b into a new file for real, following the creation rule that applies.
func newDoc(path, real string, b sops.TreeBranch) (_ []byte, err error) {
	defer recoverSops(path, &err)
	confPath, err := findConfig(real)
	if err != nil || confPath == "" {
		return nil, &NoCreationRuleError{Path: path}
	}
	conf, err := config.LoadCreationRuleForFile(confPath, real, nil)
	if err != nil {
		if strings.Contains(err.Error(), "no matching creation rules") {
			return nil, &NoCreationRuleError{Path: path, Config: confPath}
		}
		return nil, fmt.Errorf("cannot use %q to create %q: %v", confPath, path, err)
	}
	if conf == nil {
		return nil, &NoCreationRuleError{Path: path, Config: confPath}
	}
	var indent int
	if sc, err := config.LoadStoresConfig(confPath); err == nil {
		indent = sc.YAML.Indent
	}
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{Indent: indent})
	tree := sops.Tree{
		Branches: sops.TreeBranches{b},
		FilePath: real,
		Metadata: sops.Metadata{
			KeyGroups:               conf.KeyGroups,
			ShamirThreshold:         conf.ShamirThreshold,
			UnencryptedSuffix:       conf.UnencryptedSuffix,
			EncryptedSuffix:         conf.EncryptedSuffix,
			UnencryptedRegex:        conf.UnencryptedRegex,
			EncryptedRegex:          conf.EncryptedRegex,
			UnencryptedCommentRegex: conf.UnencryptedCommentRegex,
			EncryptedCommentRegex:   conf.EncryptedCommentRegex,
			MACOnlyEncrypted:        conf.MACOnlyEncrypted,
			Version:                 version.Version,
		},
	}
	m := &tree.Metadata
	if m.UnencryptedSuffix == "" && m.EncryptedSuffix == "" && m.UnencryptedRegex == "" &&
		m.EncryptedRegex == "" && m.UnencryptedCommentRegex == "" && m.EncryptedCommentRegex == "" {
		m.UnencryptedSuffix = sops.DefaultUnencryptedSuffix // what the CLI does
	}
	if m.MasterKeyCount() == 0 {
		return nil, fmt.Errorf("cannot create secrets file %q: the creation rule in %q names no keys", path, confPath)
	}
	svcs, _, closeAll, err := keyServices()
	defer closeAll()
	if err != nil {
		return nil, err
	}
	key, errs := tree.GenerateDataKeyWithKeyServices(svcs)
	if len(errs) > 0 {
		return nil, fmt.Errorf("cannot create secrets file %q: cannot encrypt its data key for every recipient: %v", path, errors.Join(errs...))
	}
	d := &doc{path: path, real: real, tree: tree, store: store}
	return d.encrypt(key, aes.NewCipher())
}

// branchOf lays out a new file from the keys to set, in order (diff lists uicctl's keys in
// the documented order).
func branchOf(changes []change) sops.TreeBranch {
	b := sops.TreeBranch{}
	for _, c := range changes {
		if c.text != "" {
			b, _ = b.Set(anyPath(c.path), c.text)
		}
	}
	return b
}

func anyPath(p []string) []any {
	out := make([]any, len(p))
	for i, s := range p {
		out[i] = s
	}
	return out
}

// apply sets or removes the changed keys in the decrypted tree.
func (d *doc) apply(changes []change) error {
	for _, c := range changes {
		if c.text != "" {
			d.tree.Branches[0], _ = d.tree.Branches[0].Set(anyPath(c.path), c.text)
			continue
		}
		if _, found := lookup(d.tree.Branches[0], c.path); !found {
			continue
		}
		b, err := d.tree.Branches[0].Unset(anyPath(c.path))
		if err != nil {
			return fmt.Errorf("cannot remove %s from %q", strings.Join(c.path, "."), d.path)
		}
		d.tree.Branches[0] = b
	}
	return nil
}
