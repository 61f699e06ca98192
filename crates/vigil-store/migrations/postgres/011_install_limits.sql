-- An install code may be limited to a number of hosts; enrollment finds a host by its key.
ALTER TABLE install_codes ADD COLUMN max_uses BIGINT;
CREATE INDEX hosts_public_key ON hosts (public_key);
