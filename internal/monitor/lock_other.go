//go:build !unix

package monitor

import "context"

// lockFile is a no-op where flock is missing: concurrent edits of the
// definition files may then lose one of them.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
