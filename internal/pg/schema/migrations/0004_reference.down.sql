DROP TABLE incidents;
DROP TABLE actors;
DROP TABLE labels;
DROP TABLE assets;
