-- Per-address tables, distributed (or hash-partitioned) on addr_id and
-- co-located, so an address's key and its whole history are on one shard.

-- The a table: address id to its compact key.
CREATE TABLE addresses (
	chain_id smallint NOT NULL,
	addr_id  bigint   NOT NULL, -- in order of first appearance, from 1
	addr_key bytea    NOT NULL,
	PRIMARY KEY (chain_id, addr_id)
) {{partitionBy "addr_id"}};
{{distribute "addresses" "addr_id" "addresses"}}

-- The A table: compact key to id, distributed on the key so that
-- resolving an address the user typed is single-shard.
CREATE TABLE address_keys (
	chain_id smallint NOT NULL,
	addr_key bytea    NOT NULL,
	addr_id  bigint   NOT NULL,
	PRIMARY KEY (chain_id, addr_key)
) {{partitionBy "addr_key"}};
{{distribute "address_keys" "addr_key" "address_keys"}}

-- The x table, the address index: the address received an output (dir 0,
-- idx the output index in tx_num) or spent one (dir 1, idx the input
-- index). Its key order is the store's, so an address's events read in
-- chain order from the primary key.
CREATE TABLE addr_events (
	chain_id smallint NOT NULL,
	addr_id  bigint   NOT NULL,
	tx_num   bigint   NOT NULL,
	dir      smallint NOT NULL,
	idx      integer  NOT NULL,
	value    bigint   NOT NULL,
	PRIMARY KEY (chain_id, addr_id, tx_num, dir, idx)
) {{partitionBy "addr_id"}};
{{distribute "addr_events" "addr_id" "addresses"}}

-- The U table, the cluster link log: kind 0 is a multi-input link over
-- addr_ids (sorted, distinct), other kinds are CoinJoins with no ids. Keyed
-- by transaction, co-located with txs.
CREATE TABLE cluster_links (
	chain_id smallint NOT NULL,
	tx_num   bigint   NOT NULL,
	kind     smallint NOT NULL,
	addr_ids bigint[] NOT NULL,
	PRIMARY KEY (chain_id, tx_num)
) {{partitionBy "tx_num"}};
{{distribute "cluster_links" "tx_num" "txs"}}
