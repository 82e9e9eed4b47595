// Package isoduration reads and writes the ISO 8601 durations Microsoft Graph uses for
// Edm.Duration properties, such as an app management policy's maxLifetime ("P90D",
// "P4DT12H30M5S"). Both the Graph client (pkg/entra) and the sandbox read them.
package isoduration
