package rpc_test

import (
	"github.com/chaintrace/chaintrace/internal/btc/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
)

// The client is meant to be the ingester's live block source; this fails to
// compile if the two drift apart. An external test package may import
// ingest even though package rpc itself must not.
var _ ingest.BlockSource = (*rpc.Client)(nil)
