//go:build !unix

package pgtest

import "os/exec"

// owner is unused where there are no unix credentials: the server runs as
// the test's own user.
type owner struct{}

func currentOwner() (*owner, error) { return nil, nil }
func (o *owner) chown(string) error { return nil }
func (o *owner) apply(*exec.Cmd)    {}
func setProcessGroup(*exec.Cmd)     {}
func interrupt(cmd *exec.Cmd)       { cmd.Process.Kill() }
func kill(cmd *exec.Cmd)            { cmd.Process.Kill() }
