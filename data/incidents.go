package data

import "embed"

// Incidents holds the incident registry, incidents/*.yaml: one file per
// year in the chaintrace-incidents format (documented in package
// internal/incident) and published.yaml, the published figures the
// registry is reconciled with.
//
//go:embed incidents/*.yaml
var Incidents embed.FS
