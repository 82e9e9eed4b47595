// Package ci holds the GitHub Actions workflows of a fleet repository: validate and plan on
// pull requests (the plan posted as a comment), verify nightly over a shard matrix with the
// rotated refresh tokens committed. They are the files of this folder, embedded, so the
// example a reader copies and the files uicctl init writes are the same bytes.
package ci
