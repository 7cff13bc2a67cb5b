//go:build unix

package auth

import (
	"io/fs"
	"syscall"
)

// inode returns a file's inode number, which tells a replaced key file
// from the old one even when the size and time are the same.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
