DROP TABLE spends;
DROP TABLE inputs;
DROP TABLE outputs;
DROP TABLE tx_ids;
DROP TABLE txs;
