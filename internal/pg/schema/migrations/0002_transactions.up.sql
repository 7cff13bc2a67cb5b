-- Per-transaction tables, distributed (or hash-partitioned) on tx_num and
-- co-located, so a transaction with its inputs, outputs, spends and link
-- lives on one shard and reading it whole is a single-shard query.

-- The t table's fixed part.
CREATE TABLE txs (
	chain_id  smallint NOT NULL,
	tx_num    bigint   NOT NULL, -- ordinal in chain order, 0 for the genesis coinbase
	txid      bytea    NOT NULL,
	height    bigint   NOT NULL,
	idx       integer  NOT NULL, -- position in its block
	version   integer  NOT NULL,
	lock_time bigint   NOT NULL,
	size      integer  NOT NULL,
	vsize     integer  NOT NULL,
	coinbase  boolean  NOT NULL,
	PRIMARY KEY (chain_id, tx_num)
) {{partitionBy "tx_num"}};
{{distribute "txs" "tx_num" "txs"}}

-- The T table: txid to ordinal, distributed on the txid itself so a
-- look-up by txid is single-shard (distributing it on tx_num would make
-- every such look-up fan out).
CREATE TABLE tx_ids (
	chain_id smallint NOT NULL,
	txid     bytea    NOT NULL,
	tx_num   bigint   NOT NULL,
	PRIMARY KEY (chain_id, txid)
) {{partitionBy "txid"}};
{{distribute "tx_ids" "txid" "tx_ids"}}

-- The t table's outputs. addr_ids is empty for OP_RETURN and holds one id
-- per key for bare multisig; class is model.ScriptClass.
CREATE TABLE outputs (
	chain_id smallint NOT NULL,
	tx_num   bigint   NOT NULL,
	vout     integer  NOT NULL,
	value    bigint   NOT NULL,
	class    smallint NOT NULL,
	addr_ids bigint[] NOT NULL,
	PRIMARY KEY (chain_id, tx_num, vout)
) {{partitionBy "tx_num"}};
{{distribute "outputs" "tx_num" "txs"}}

-- The t table's inputs. prev_tx_num is NULL and prev_txid set for an
-- external input (one spending an output from before the store's first
-- block); addr_id is NULL when the spent output has no address (the
-- store's 0).
CREATE TABLE inputs (
	chain_id    smallint NOT NULL,
	tx_num      bigint   NOT NULL,
	vin         integer  NOT NULL,
	prev_tx_num bigint,
	prev_vout   integer  NOT NULL,
	value       bigint   NOT NULL,
	addr_id     bigint,
	external    boolean  NOT NULL,
	prev_txid   bytea,
	PRIMARY KEY (chain_id, tx_num, vin)
) {{partitionBy "tx_num"}};
{{distribute "inputs" "tx_num" "txs"}}

-- The s table: which input spends an output, keyed by the output so that
-- "is this output spent, and by what" is single-shard on the output's
-- transaction. A separate table keeps outputs append-only (written by
-- COPY, never updated). The spending input lives on spend_tx_num's shard,
-- so there is no foreign key.
CREATE TABLE spends (
	chain_id     smallint NOT NULL,
	tx_num       bigint   NOT NULL,
	vout         integer  NOT NULL,
	spend_tx_num bigint   NOT NULL,
	spend_vin    integer  NOT NULL,
	PRIMARY KEY (chain_id, tx_num, vout)
) {{partitionBy "tx_num"}};
{{distribute "spends" "tx_num" "txs"}}
