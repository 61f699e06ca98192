-- The IP policy library: blocks of an address or network on some hosts, each with its state
-- on every host it targets.
CREATE TABLE ip_rules (
    id          INTEGER PRIMARY KEY,
    target      TEXT NOT NULL,
    direction   TEXT NOT NULL,
    hosts       TEXT NOT NULL,
    origin      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    alert_id    INTEGER,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  INTEGER,
    status      TEXT NOT NULL,
    ended_at    INTEGER,
    ended_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ip_rules_by_status ON ip_rules(status, expires_at);
CREATE TABLE ip_rule_hosts (
    rule_id    INTEGER NOT NULL,
    host_id    TEXT NOT NULL,
    state      TEXT NOT NULL,
    message    TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (rule_id, host_id)
);
