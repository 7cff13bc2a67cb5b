//go:build unix

package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// owner is the user the server runs as. PostgreSQL refuses to run as root,
// so a test run as root (a container, a CI image) runs initdb and postgres
// as the "postgres" user, or "nobody" when there is none.
type owner struct {
	uid, gid int
}

func currentOwner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &owner{uid: uid, gid: gid}, nil
		}
	}
	return nil, fmt.Errorf("pgtest: running as root and found no postgres or nobody user to run PostgreSQL as")
}

func (o *owner) chown(dir string) error {
	if o == nil {
		return nil
	}
	// The directory's parent must be searchable by the owner, which the
	// world-searchable temp dir os.MkdirTemp uses by default is.
	if err := os.Chown(dir, o.uid, o.gid); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

func (o *owner) apply(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if o != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid)}
	}
}

// setProcessGroup puts the postmaster in its own process group so that a
// kill reaches its backends too.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// interrupt requests PostgreSQL's fast shutdown.
func interrupt(cmd *exec.Cmd) { cmd.Process.Signal(syscall.SIGINT) }

func kill(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
