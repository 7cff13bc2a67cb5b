//go:build unix

package btcdtest

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestStopByPID checks that Stop ends the process and is idempotent.
func TestStopByPID(t *testing.T) {
	ctx := t.Context()
	n := MustStart(ctx, t, Options{Net: RegTest})
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pid := n.cmd.Process.Pid
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("btcd pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(n.Dir); err != nil {
		t.Errorf("node directory: %v", err)
	}
}
