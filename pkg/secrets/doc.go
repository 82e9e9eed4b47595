// Package secrets reads, updates and creates the sops-encrypted secrets file that sits next
// to each partner.yaml. It is the only package that imports sops: decryption goes through
// sops's own key services, so every key source the sops CLI supports (age, PGP, AWS KMS, GCP
// KMS, Azure Key Vault, HashiCorp Vault, remote key services) works unchanged.
//
// Secret values are held in [Value], which redacts itself in every formatting path; the only
// way to get the text out is [Value.Reveal]. Writes are atomic and serialised with a lock
// file, and every error a user can cause has a Hint.
//
// The Go API is not stable; the CLI and the secrets file format (docs/secrets.md) are the
// contract.
package secrets
