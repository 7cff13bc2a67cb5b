// Package data holds chaintrace's own data files, compiled into the
// binary so that they are available without the source tree.
package data

import _ "embed"

// ActorsYAML is actors.yaml: DPRK-linked actors with their aliases,
// sub-groups and references, in the chaintrace-actors format documented
// at the top of the file.
//
//go:embed actors.yaml
var ActorsYAML string
