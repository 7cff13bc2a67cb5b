DROP TABLE blocks;
DROP TABLE stage_progress;
DROP TABLE chain_meta;
DROP TABLE chains;
