-- Chains, their counters, stage progress and blocks. All four are small
-- (one row per chain, counter, stage or block) and read by every shard's
-- queries, so on Citus they are reference tables, copied to every worker.

CREATE TABLE chains (
	chain_id   smallint    NOT NULL PRIMARY KEY,
	name       text        NOT NULL UNIQUE, -- chaintrace's chain id and network, e.g. 'btc/mainnet'
	genesis    bytea       NOT NULL,        -- genesis block hash: a store is never opened on another chain
	created_at timestamptz NOT NULL DEFAULT now()
);
{{reference "chains"}}

-- The embedded store's M table: counters such as the next tx ordinal and
-- address id, as the store encodes them.
CREATE TABLE chain_meta (
	chain_id smallint NOT NULL,
	name     text     NOT NULL,
	value    bytea    NOT NULL,
	PRIMARY KEY (chain_id, name)
);
{{reference "chain_meta"}}

-- The P table: how far each ingest stage has got. Written in the same
-- transaction as the stage's data.
CREATE TABLE stage_progress (
	chain_id   smallint    NOT NULL,
	stage      text        NOT NULL,
	height     bigint      NOT NULL,
	hash       bytea       NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (chain_id, stage)
);
{{reference "stage_progress"}}

-- The H and B tables. Unsigned 32-bit header fields are bigint.
CREATE TABLE blocks (
	chain_id    smallint NOT NULL,
	height      bigint   NOT NULL,
	hash        bytea    NOT NULL,
	prev        bytea    NOT NULL,
	version     integer  NOT NULL,
	time        bigint   NOT NULL, -- header time, seconds since 1970
	bits        bigint   NOT NULL,
	size        integer  NOT NULL,
	weight      integer  NOT NULL,
	tx_num_min  bigint   NOT NULL, -- ordinal of the block's first transaction
	tx_count    integer  NOT NULL,
	addr_id_min bigint   NOT NULL, -- first address id this block may have created
	PRIMARY KEY (chain_id, height),
	UNIQUE (chain_id, hash)
);
{{reference "blocks"}}
