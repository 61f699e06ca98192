CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users(username),
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE TABLE host_groups (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE install_codes (
    id            TEXT PRIMARY KEY,
    code_hash     TEXT NOT NULL UNIQUE,
    hint          TEXT NOT NULL,
    group_name    TEXT NOT NULL,
    os            TEXT NOT NULL,
    provider      TEXT NOT NULL,
    labels        TEXT NOT NULL,
    proxy_cluster TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    uses          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE hosts (
    id              TEXT PRIMARY KEY,
    hostname        TEXT NOT NULL,
    group_name      TEXT NOT NULL,
    provider        TEXT NOT NULL,
    labels          TEXT NOT NULL,
    public_key      BLOB NOT NULL,
    agent_version   TEXT NOT NULL,
    os              TEXT NOT NULL,
    install_code_id TEXT NOT NULL,
    enrolled_at     INTEGER NOT NULL,
    last_seen       INTEGER,
    uninstalled_at  INTEGER,
    inventory_at    INTEGER,
    last_seq        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE inventories (
    host_id      TEXT PRIMARY KEY REFERENCES hosts(id),
    collected_at INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    host_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    time    INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX events_by_host ON events(host_id, id);
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    host_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    level      TEXT NOT NULL,
    status     TEXT NOT NULL,
    name       TEXT NOT NULL,
    dedup_key  TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (host_id, kind, dedup_key)
);
CREATE INDEX alerts_by_last_seen ON alerts(last_seen DESC, id DESC);
CREATE INDEX alerts_by_status ON alerts(status, level, last_seen DESC);
CREATE INDEX alerts_by_host ON alerts(host_id, last_seen DESC);
