// Package pgtest starts throwaway PostgreSQL servers for tests: initdb into
// a temporary directory, postgres on a random loopback port with its unix
// socket beside the data, fsync off, and everything removed at the end. A
// package shares one server through Main and gets a fresh database per test
// from New; a test that needs its own server (to restart it) calls Start.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries reports that initdb and postgres were found neither on PATH
// nor under /usr/lib/postgresql/*/bin.
var ErrNoBinaries = errors.New("pgtest: PostgreSQL binaries (initdb, postgres) not found on PATH or under /usr/lib/postgresql/*/bin; install Debian's postgresql package")

// debianBinGlob is where Debian's postgresql package installs the server
// binaries, one directory per major version; a variable so the tests can
// point it at fake installations.
var debianBinGlob = "/usr/lib/postgresql/*/bin"

// superuser is the role initdb creates; tests connect as it without a
// password (trust authentication on loopback and the socket only).
const superuser = "postgres"

// Server is one running PostgreSQL cluster in a temporary directory.
type Server struct {
	bin  string // directory holding initdb and postgres
	dir  string // temporary directory: data, socket, log
	port int
	own  *owner // the unprivileged user the server runs as when we are root

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

// FindBinaries returns the directory holding initdb and postgres: PATH
// first, then /usr/lib/postgresql/<version>/bin with the newest version
// first, which is where Debian's postgresql package installs them.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			dir = filepath.Dir(resolved)
		}
		if isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

// versionOf reads the major version from /usr/lib/postgresql/<v>/bin so
// that 16 sorts after 9 (a string sort would put 9 first).
func versionOf(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start creates a cluster in a new temporary directory and starts it. The
// caller must Stop it, which also removes the directory.
func Start(ctx context.Context) (*Server, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.init(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A port that was free when probed can be taken before postgres binds
	// it, so a failed start is retried on another port.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err == nil {
			if err = s.start(ctx); err == nil {
				return s, nil
			}
		}
		if attempt == 2 || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (s *Server) init(ctx context.Context) error {
	own, err := currentOwner()
	if err != nil {
		return err
	}
	s.own = own
	if err := s.own.chown(s.dir); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, "initdb"),
		"-D", s.dataDir(), "-U", superuser, "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	s.own.apply(cmd)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// start runs postgres directly rather than through pg_ctl so that the
// harness holds the postmaster's process and can kill it when a shutdown
// hangs.
func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("pgtest: server already running")
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	// Durability is pointless for a database that is deleted after the
	// test; fsync off and small buffers make start-up and writes fast.
	cmd := exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", s.dataDir(),
		"-p", strconv.Itoa(s.port),
		"-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=60",
		"-c", "log_min_messages=warning",
	)
	cmd.Stdout, cmd.Stderr = log, log
	s.own.apply(cmd)
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.log = cmd, done, log
	if err := s.waitReady(ctx, done); err != nil {
		s.killLocked()
		return fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return nil
}

// waitReady polls until the server accepts a connection, it exits, or 60
// seconds pass (initdb's first start on a slow CI machine can take a
// while).
func (s *Server) waitReady(ctx context.Context, done <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-done:
			return errors.New("pgtest: postgres exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("pgtest: waiting for postgres: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres not accepting connections after 60s: %w", err)
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "postgres log:\n" + string(b)
}

// Port returns the loopback TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// DSN returns a connection string for database db over loopback TCP.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, db)
}

// Restart stops the server (a fast shutdown that ends every session) and
// starts it again on the same port and data, for tests of what clients do
// when their server goes away.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.shutdown(); err != nil {
		return err
	}
	return s.start(ctx)
}

// Stop shuts the server down and removes its directory.
func (s *Server) Stop() error {
	err := s.shutdown()
	if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
		err = fmt.Errorf("pgtest: %w", rerr)
	}
	return err
}

// shutdown asks for a fast shutdown (SIGINT) and kills the process group
// when the server has not exited ten seconds later, so a stuck server
// cannot outlive the test run.
func (s *Server) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	interrupt(s.cmd)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.killLocked()
		return errors.New("pgtest: postgres did not stop within 10s and was killed")
	}
	s.log.Close()
	s.cmd = nil
	return nil
}

func (s *Server) killLocked() {
	kill(s.cmd)
	<-s.done
	s.log.Close()
	s.cmd = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: probe free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
