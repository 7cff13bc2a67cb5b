-- Reference data every query may join: assets, labels, actors, incidents.
-- Small next to the chain data and read on every shard, so on Citus they
-- are reference tables. Chains are named by chaintrace's chain id text
-- ('btc', 'eth', ...) as the label and incident formats name them.

CREATE TABLE assets (
	chain    text     NOT NULL,
	contract text     NOT NULL DEFAULT '', -- empty for the native coin
	symbol   text     NOT NULL,
	decimals smallint NOT NULL,
	PRIMARY KEY (chain, contract)
);
{{reference "assets"}}

-- labels.Label. A label is on an address or, with address empty, on a
-- transaction; the key is what makes two imports the same label.
CREATE TABLE labels (
	chain            text        NOT NULL,
	address          text        NOT NULL DEFAULT '',
	tx_hash          text        NOT NULL DEFAULT '',
	dataset          text        NOT NULL,
	label            text        NOT NULL,
	category         text        NOT NULL DEFAULT '',
	abuse            text        NOT NULL DEFAULT '',
	actor            text        NOT NULL DEFAULT '',
	confidence       text        NOT NULL DEFAULT '',
	confidence_level smallint    NOT NULL DEFAULT 0,
	source           text        NOT NULL DEFAULT '',
	context          text        NOT NULL DEFAULT '',
	entity           text        NOT NULL DEFAULT '',
	entity_uid       text        NOT NULL DEFAULT '',
	programs         text[]      NOT NULL DEFAULT '{}',
	is_cluster_definer boolean   NOT NULL DEFAULT false,
	lastmod          timestamptz,
	first_imported   timestamptz,
	last_imported    timestamptz,
	retired          timestamptz,
	PRIMARY KEY (chain, address, tx_hash, dataset, label)
);
CREATE INDEX labels_actor ON labels (actor) WHERE actor <> '';
{{reference "labels"}}

-- labels.Actor.
CREATE TABLE actors (
	actor_id      text   NOT NULL PRIMARY KEY,
	label         text   NOT NULL,
	aliases       text[] NOT NULL DEFAULT '{}',
	sub_groups    text[] NOT NULL DEFAULT '{}',
	parent        text   NOT NULL DEFAULT '',
	categories    text[] NOT NULL DEFAULT '{}',
	jurisdictions text[] NOT NULL DEFAULT '{}',
	uri           text   NOT NULL DEFAULT '',
	refs          text[] NOT NULL DEFAULT '{}',
	context       text   NOT NULL DEFAULT '',
	dataset       text   NOT NULL
);
{{reference "actors"}}

-- Incidents as the registry's documents (data/incidents/*.yaml), with the
-- fields queries filter on lifted into columns.
CREATE TABLE incidents (
	incident_id text  NOT NULL PRIMARY KEY,
	title       text  NOT NULL,
	occurred    date,
	doc         jsonb NOT NULL
);
{{reference "incidents"}}
