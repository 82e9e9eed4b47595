package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// The sandbox's stand-in for GitHub Actions' OIDC token service
// (https://token.actions.githubusercontent.com), so workload identity federation can be
// tested end to end: an issuer with its OpenID configuration and JWKS, and the request
// endpoint a job with `id-token: write` gets in ACTIONS_ID_TOKEN_REQUEST_URL, answering
// GET {url}&audience=AUD with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` by
// {"value": JWT}.

const (
	actionsPath = "/githubactions"

	// DefaultActionsSubject is the subject of the sandbox's job: a workflow on the main
	// branch of the fleet repository (GitHub's repo:OWNER/REPO:ref:REF form).
	DefaultActionsSubject = "repo:useitcloud/fleet:ref:refs/heads/main"

	// DefaultActionsTokenLifetime is the lifetime of GitHub's tokens: its documented example
	// token has exp 5 minutes after iat (and nbf 10 minutes before it).
	DefaultActionsTokenLifetime = 5 * time.Minute

	// ExchangeAudience is the audience Entra recommends for federated credentials, and the
	// one azure/login requests.
	ExchangeAudience = "api://AzureADTokenExchange"

	// operatorFederatedName names the operator app's federated credential for the issuer.
	operatorFederatedName = "sandbox-github-actions"
)

// actionsJob is what the issuer's tokens say about the job; tests change it.
type actionsJob struct {
	subject  string
	lifetime time.Duration
}

// ActionsIssuer returns the issuer URL of the sandbox's GitHub Actions token service.
func (s *Sandbox) ActionsIssuer() string { return s.url + actionsPath }

// ActionsTokenRequest returns what GitHub gives a job with `id-token: write`: the request
// URL (already with a query, so clients append &audience=...) and the bearer token.
func (s *Sandbox) ActionsTokenRequest() (requestURL, requestToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url + actionsPath + "/idtoken?api-version=2.0", s.st.ActionsRequestToken
}

// SetActionsJob changes the job the issuer speaks for: subject "" keeps the current one,
// lifetime 0 keeps the current one. Tests use it for a job of another repository or for
// tokens that expire within seconds.
func (s *Sandbox) SetActionsJob(subject string, lifetime time.Duration) error {
	if lifetime < 0 {
		return fmt.Errorf("token lifetime must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if subject != "" {
		s.job.subject = subject
	}
	if lifetime > 0 {
		s.job.lifetime = lifetime
	}
	return nil
}

// ActionsJob returns the subject and token lifetime of the issuer's job.
func (s *Sandbox) ActionsJob() (subject string, lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.job.subject, s.job.lifetime
}

// IssueActionsToken returns a token of the issuer for audience, as the request endpoint
// does (for tests that write a token file, as Kubernetes projects one).
func (s *Sandbox) IssueActionsToken(audience string) (string, error) {
	sg, err := s.actionsSigner()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	job := s.job
	s.mu.Unlock()
	now := s.now()
	m := jwt.MapClaims{
		"jti": newGUID(), "sub": job.subject, "aud": audience, "iss": s.ActionsIssuer(),
		"iat": now.Unix(), "nbf": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(job.lifetime).Unix(),
		"runner_environment": "github-hosted", "event_name": "schedule", "workflow": "uicctl verify",
	}
	// The custom claims GitHub derives from the same job as the subject.
	if rest, ok := strings.CutPrefix(job.subject, "repo:"); ok {
		repo, ref, _ := strings.Cut(rest, ":ref:")
		owner, _, _ := strings.Cut(repo, "/")
		m["repository"], m["repository_owner"] = repo, owner
		if ref != "" {
			m["ref"] = ref
			m["ref_type"] = "branch"
			if strings.HasPrefix(ref, "refs/tags/") {
				m["ref_type"] = "tag"
			}
		}
	}
	return sg.sign(m), nil
}

// actionsSigner returns the issuer's signing key, made on first use (an RSA key costs a
// sandbox start noticeable time, and most sandboxes never issue a GitHub token) and kept
// in the state so tokens survive a restart.
func (s *Sandbox) actionsSigner() (*signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.actions != nil {
		return s.actions, nil
	}
	var key *rsa.PrivateKey
	if len(s.st.ActionsKey) > 0 {
		k, err := x509.ParsePKCS8PrivateKey(s.st.ActionsKey)
		if key, _ = k.(*rsa.PrivateKey); err != nil || key == nil {
			return nil, fmt.Errorf("bad GitHub Actions issuer key in the state")
		}
	} else {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
		s.st.ActionsKey, _ = x509.MarshalPKCS8PrivateKey(key)
	}
	sg, err := newSigner(key)
	if err != nil {
		return nil, err
	}
	s.actions = sg
	return sg, nil
}

// trustActionsIssuer gives the operator app a federated credential for the issuer. The
// issuer URL has the sandbox's port in it, so this runs at every start (also over a state
// file, whose credential names the port of its last run).
func (s *Sandbox) trustActionsIssuer() error {
	_, cid, _ := s.Operator()
	return s.graph.SetFederatedCredential(cid, graph.FederatedCredential{Name: operatorFederatedName,
		Issuer: s.ActionsIssuer(), Subject: DefaultActionsSubject, Audiences: []string{ExchangeAudience}})
}

// serveActions serves the issuer and its request endpoint under /githubactions/.
func (s *Sandbox) serveActions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// UNCONFIRMED: GitHub's answer to other methods.
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "method not allowed"})
		return
	}
	issuer := s.ActionsIssuer()
	switch strings.TrimPrefix(r.URL.Path, actionsPath) {
	case "/.well-known/openid-configuration":
		// The fields of GitHub's configuration document that a verifier reads.
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": issuer, "jwks_uri": issuer + "/.well-known/jwks",
			"subject_types_supported": []string{"public", "pairwise"}, "response_types_supported": []string{"id_token"},
			"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "ref_type", "repository",
				"repository_owner", "event_name", "workflow", "runner_environment"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid"},
		})
	case "/.well-known/jwks":
		sg, err := s.actionsSigner()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, sg.jwks())
	case "/idtoken":
		_, want := s.ActionsTokenRequest()
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
			// UNCONFIRMED: the body of GitHub's 401.
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			// Without an audience GitHub's token names the repository owner's URL.
			subject, _ := s.ActionsJob()
			repo, _, _ := strings.Cut(strings.TrimPrefix(subject, "repo:"), ":")
			owner, _, _ := strings.Cut(repo, "/")
			aud = "https://github.com/" + owner
		}
		tok, err := s.IssueActionsToken(aud)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]string{"value": tok})
	default:
		http.NotFound(w, r)
	}
}
