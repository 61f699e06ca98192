ALTER TABLE alerts ADD COLUMN handled_at BIGINT;
ALTER TABLE alerts ADD COLUMN handled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN whitelist_rule_id BIGINT;
CREATE TABLE whitelist_rules (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    scope_value TEXT NOT NULL,
    fields      TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX alerts_by_rule ON alerts(whitelist_rule_id);
CREATE INDEX alerts_by_kind ON alerts(kind, status);
CREATE INDEX alerts_by_expiry ON alerts(status, last_seen);
