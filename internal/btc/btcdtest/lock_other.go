//go:build !unix

package btcdtest

import "context"

// lockFile is a no-op where flock is unavailable; builds still appear
// atomically by rename, at worst twice.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
