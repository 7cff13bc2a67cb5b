DROP TABLE cluster_links;
DROP TABLE addr_events;
DROP TABLE address_keys;
DROP TABLE addresses;
