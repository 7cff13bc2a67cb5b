package btcdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btc/rpc"
)

// Network selects the test chain a node runs.
type Network int

const (
	// SimNet is btcd's simulation network: trivial difficulty, 100-block
	// coinbase maturity, segwit active from height 300.
	SimNet Network = iota
	// RegTest is the regression test network shared with Bitcoin Core.
	RegTest
)

// Options configures Start. The zero value runs an isolated simnet node.
type Options struct {
	// Net is the chain to run.
	Net Network
	// BinPath is a btcd binary; empty means Build.
	BinPath string
	// Peers are P2P addresses ("127.0.0.1:port", see Node.P2PAddr) to
	// connect to at start, for multi-node tests.
	Peers []string
	// ConnectOnly passes Peers as --connect (only those peers) instead of
	// --addpeer.
	ConnectOnly bool
	// TxIndex enables btcd's transaction index (getrawtransaction).
	TxIndex bool
	// Key is the mining key; nil generates a fresh one.
	Key *btcec.PrivateKey
	// ExtraArgs are appended to btcd's command line.
	ExtraArgs []string
	// StartTimeout bounds waiting for the RPC server; zero means 60 s.
	StartTimeout time.Duration
}

// Node is a running btcd process. Its fields are read-only.
type Node struct {
	// RPCAddr and P2PAddr are the loopback addresses btcd listens on.
	RPCAddr, P2PAddr string
	// User and Password are the RPC credentials.
	User, Password string
	// Params are the chain parameters of the node's network.
	Params *chaincfg.Params
	// Key is the mining key; MiningAddr (P2PKH) receives every coinbase.
	Key        *btcec.PrivateKey
	MiningAddr btcutil.Address
	// Dir holds the node's data, logs and console output (btcd.out).
	Dir string

	client  *rpc.Client
	wallet  *Wallet
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// MustStart is Start for tests: it skips t when no go command is available
// to build btcd and fails t on any other error.
func MustStart(ctx context.Context, t testing.TB, opts Options) *Node {
	t.Helper()
	n, err := Start(ctx, t, opts)
	if errors.Is(err, ErrNoGo) {
		t.Skipf("skipping: a real btcd node is needed and cannot be built: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Start runs btcd bound to loopback ports in a directory under t.TempDir,
// waits until its RPC server answers, and registers Stop with t.Cleanup.
func Start(ctx context.Context, t testing.TB, opts Options) (*Node, error) {
	t.Helper()
	bin := opts.BinPath
	if bin == "" {
		var err error
		if bin, err = Build(ctx, t.Logf); err != nil {
			return nil, err
		}
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = btcec.NewPrivateKey(); err != nil {
			return nil, err
		}
	}
	params := &chaincfg.SimNetParams
	if opts.Net == RegTest {
		params = &chaincfg.RegressionNetParams
	}
	addr, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(key.PubKey().SerializeCompressed()), params)
	if err != nil {
		return nil, err
	}
	// Ports are picked free and then handed to btcd, so another process can
	// grab one in between; a few attempts make that race harmless.
	var lastErr error
	for attempt := range 3 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("btcd%d", attempt))
		n := &Node{User: "chaintrace", Password: "test-" + rand.Text(), Params: params,
			Key: key, MiningAddr: addr, Dir: dir}
		if n.RPCAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		if n.P2PAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		err := n.launch(ctx, bin, opts)
		if err == nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("btcd %s console output (tail):\n%s", n.RPCAddr, n.LogTail(4000))
				}
				if err := n.Stop(); err != nil {
					t.Errorf("stopping btcd: %v", err)
				}
			})
			return n, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// launch starts the process and waits for RPC; on failure the process is
// gone and the error carries the tail of btcd's output.
func (n *Node) launch(ctx context.Context, bin string, opts Options) error {
	home := filepath.Join(n.Dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	// An empty config file keeps btcd from reading or writing ~/.btcd/btcd.conf.
	conf := filepath.Join(n.Dir, "btcd.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		return err
	}
	args := []string{
		"--configfile=" + conf,
		"--datadir=" + filepath.Join(n.Dir, "data"),
		"--logdir=" + filepath.Join(n.Dir, "logs"),
		"--rpcuser=" + n.User,
		"--rpcpass=" + n.Password,
		"--rpclisten=" + n.RPCAddr,
		"--listen=" + n.P2PAddr,
		"--notls",
		"--miningaddr=" + n.MiningAddr.EncodeAddress(),
		"--rpcmaxclients=100",
		"--rpcmaxconcurrentreqs=100",
		"--nobanning",
		"--debuglevel=info",
	}
	if opts.Net == RegTest {
		args = append(args, "--regtest")
	} else {
		args = append(args, "--simnet")
	}
	if opts.TxIndex {
		args = append(args, "--txindex")
	}
	for _, p := range opts.Peers {
		if opts.ConnectOnly {
			args = append(args, "--connect="+p)
		} else {
			args = append(args, "--addpeer="+p)
		}
	}
	args = append(args, opts.ExtraArgs...)

	out, err := os.Create(filepath.Join(n.Dir, "btcd.out"))
	if err != nil {
		return err
	}
	defer out.Close() // The child keeps its own descriptor.
	cmd := exec.Command(bin, args...)
	// btcd creates its home directory even when every path is given; HOME
	// points it into the test directory.
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("btcdtest: starting %s: %w", bin, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func() {
		n.waitErr = cmd.Wait()
		close(n.exited)
	}()

	client, err := rpc.New(rpc.Config{URL: "http://" + n.RPCAddr, User: n.User, Password: n.Password,
		Timeout: 60 * time.Second, Concurrency: 8, BlockBatchSize: 8})
	if err != nil {
		_ = n.Stop()
		return err
	}
	n.client = client
	if err := n.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = n.Stop()
		return fmt.Errorf("btcdtest: btcd on %s did not start: %w\n--- btcd output (tail) ---\n%s",
			n.RPCAddr, err, n.LogTail(3000))
	}
	n.wallet = newWallet(n)
	return nil
}

// waitReady polls getbestblockhash until it answers, the process exits, or
// the timeout passes.
func (n *Node) waitReady(ctx context.Context, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probe, err := rpc.New(rpc.Config{URL: "http://" + n.RPCAddr, User: n.User, Password: n.Password,
		Timeout: 2 * time.Second, MaxRetries: -1})
	if err != nil {
		return err
	}
	defer probe.Close()
	for {
		err := probe.Call(ctx, "getbestblockhash", nil, nil)
		if err == nil {
			return nil
		}
		select {
		case <-n.exited:
			return fmt.Errorf("btcd exited: %v", n.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("RPC not answering: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop interrupts btcd by pid so it flushes its database, kills it if it
// has not exited after 15 s, and waits for it. It is idempotent and is
// registered with t.Cleanup by Start.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		if n.client != nil {
			n.client.Close()
		}
		if n.cmd == nil {
			return
		}
		select {
		case <-n.exited:
			n.stopErr = fmt.Errorf("btcd had already exited: %v", n.waitErr)
			return
		default:
		}
		if err := n.cmd.Process.Signal(os.Interrupt); err != nil {
			_ = n.cmd.Process.Kill()
		}
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
			n.stopErr = errors.New("btcd ignored SIGINT for 15 s and was killed")
		}
	})
	return n.stopErr
}

// LogTail returns the last max bytes of btcd's console output, for
// diagnosing failures.
func (n *Node) LogTail(max int) string {
	data, err := os.ReadFile(filepath.Join(n.Dir, "btcd.out"))
	if err != nil {
		return err.Error()
	}
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

// Client returns the node's JSON-RPC client (package rpc), shared by the
// helpers here.
func (n *Node) Client() *rpc.Client { return n.client }

// URL returns the RPC endpoint with credentials, for configuring another
// rpc.Client.
func (n *Node) URL() string { return "http://" + n.User + ":" + n.Password + "@" + n.RPCAddr }

// Wallet returns the wallet holding the node's mining key.
func (n *Node) Wallet() *Wallet { return n.wallet }

// RPC performs a raw call and returns the undecoded result.
func (n *Node) RPC(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	var raw json.RawMessage
	err := n.client.Call(ctx, method, params, &raw)
	return raw, err
}

// Generate mines n blocks to MiningAddr, including mempool transactions,
// and returns their hashes in chain order.
func (n *Node) Generate(ctx context.Context, blocks int) ([]chainhash.Hash, error) {
	var strs []string
	if err := n.client.Call(ctx, "generate", []any{blocks}, &strs); err != nil {
		return nil, err
	}
	return parseHashes(strs)
}

// SendRaw submits tx to the node's mempool and returns its txid.
func (n *Node) SendRaw(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return chainhash.Hash{}, err
	}
	var txid string
	if err := n.client.Call(ctx, "sendrawtransaction", []any{hex.EncodeToString(buf.Bytes())}, &txid); err != nil {
		return chainhash.Hash{}, err
	}
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil {
		return chainhash.Hash{}, err
	}
	if *h != tx.TxHash() {
		return chainhash.Hash{}, fmt.Errorf("btcdtest: node reports txid %s for %s", h, tx.TxHash())
	}
	return *h, nil
}

// Block fetches and decodes the block with the given hash.
func (n *Node) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	var s string
	if err := n.client.Call(ctx, "getblock", []any{hash.String(), 0}, &s); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("btcdtest: decoding block %s: %w", hash, err)
	}
	return &blk, nil
}

// InvalidateBlock marks hash and its descendants invalid; if it is on the
// best chain the node falls back to the best remaining valid branch. btcd
// v0.24.2 supports this, so a single node can reorganise on demand.
func (n *Node) InvalidateBlock(ctx context.Context, hash chainhash.Hash) error {
	return n.client.Call(ctx, "invalidateblock", []any{hash.String()}, nil)
}

// ReconsiderBlock undoes InvalidateBlock; the node switches back if that
// branch has more work.
func (n *Node) ReconsiderBlock(ctx context.Context, hash chainhash.Hash) error {
	return n.client.Call(ctx, "reconsiderblock", []any{hash.String()}, nil)
}

// Reorg replaces the top depth blocks of the best chain with length new
// ones: it invalidates the block at height tip-depth+1 and mines length
// blocks on its parent. It returns the detached and the attached hashes. The
// detached branch stays marked invalid until ReconsiderBlock. The new
// blocks differ from the old even when empty, because btcd's miner picks a
// random extra nonce; transactions from the detached blocks return to the
// mempool and are mined again.
func (n *Node) Reorg(ctx context.Context, depth, length int) (detached, attached []chainhash.Hash, err error) {
	if depth < 1 || length < 1 {
		return nil, nil, fmt.Errorf("btcdtest: Reorg(%d, %d): depth and length must be positive", depth, length)
	}
	tip, _, err := n.client.Tip(ctx)
	if err != nil {
		return nil, nil, err
	}
	if uint64(depth) > tip {
		return nil, nil, fmt.Errorf("btcdtest: Reorg depth %d reaches below genesis (tip %d)", depth, tip)
	}
	fork := tip - uint64(depth) + 1
	err = n.client.Blocks(ctx, fork, tip, func(_ uint64, h chainhash.Hash, _ []byte) error {
		detached = append(detached, h)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := n.InvalidateBlock(ctx, detached[0]); err != nil {
		return nil, nil, err
	}
	attached, err = n.Generate(ctx, length)
	return detached, attached, err
}

// Connect makes the node open a P2P connection to peer.
func (n *Node) Connect(ctx context.Context, peer *Node) error {
	return n.client.Call(ctx, "node", []any{"connect", peer.P2PAddr, "temp"}, nil)
}

// Disconnect drops the node's outbound connection to peer, whether made by
// Connect (temporary) or Options.Peers (permanent, which btcd calls
// "remove"), and waits until the peer list no longer shows it.
func (n *Node) Disconnect(ctx context.Context, peer *Node) error {
	err := n.client.Call(ctx, "node", []any{"disconnect", peer.P2PAddr}, nil)
	if err != nil && strings.Contains(err.Error(), "permanent") {
		err = n.client.Call(ctx, "node", []any{"remove", peer.P2PAddr}, nil)
	}
	if err != nil {
		return err
	}
	return poll(ctx, 10*time.Second, func() (bool, error) {
		var peers []struct {
			Addr string `json:"addr"`
		}
		if err := n.client.Call(ctx, "getpeerinfo", nil, &peers); err != nil {
			return false, err
		}
		for _, p := range peers {
			if p.Addr == peer.P2PAddr {
				return false, nil
			}
		}
		return true, nil
	})
}

// WaitForTip waits until the node's best block is hash, as after a peer
// relays its chain.
func (n *Node) WaitForTip(ctx context.Context, hash chainhash.Hash, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, error) {
		_, tip, err := n.client.Tip(ctx)
		return tip == hash, err
	})
}

// SegwitActive reports whether the next block must follow segwit rules,
// which btcd's mempool requires before it accepts witness spends.
func (n *Node) SegwitActive(ctx context.Context) (bool, error) {
	var info struct {
		Bip9 map[string]struct {
			Status string `json:"status"`
		} `json:"bip9_softforks"`
	}
	if err := n.client.Call(ctx, "getblockchaininfo", nil, &info); err != nil {
		return false, err
	}
	return info.Bip9["segwit"].Status == "active", nil
}

// ActivateSegwit mines until segwit is active (about 300 blocks on a fresh
// simnet chain, which takes well under a second).
func (n *Node) ActivateSegwit(ctx context.Context) error {
	for range 100 {
		active, err := n.SegwitActive(ctx)
		if err != nil || active {
			return err
		}
		if _, err := n.Generate(ctx, 25); err != nil {
			return err
		}
	}
	return errors.New("btcdtest: segwit still not active after 2500 blocks")
}

// poll calls check every 50 ms until it reports done, fails, or timeout.
func poll(ctx context.Context, timeout time.Duration, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("btcdtest: condition not met: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// parseHashes decodes the hex hashes the node returns, in order.
func parseHashes(strs []string) ([]chainhash.Hash, error) {
	out := make([]chainhash.Hash, len(strs))
	for i, s := range strs {
		h, err := chainhash.NewHashFromStr(s)
		if err != nil {
			return nil, fmt.Errorf("btcdtest: bad hash %q: %w", s, err)
		}
		out[i] = *h
	}
	return out, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
