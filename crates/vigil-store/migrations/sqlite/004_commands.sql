CREATE TABLE commands (
    id          INTEGER PRIMARY KEY,
    host_id     TEXT NOT NULL,
    alert_id    INTEGER,
    action      TEXT NOT NULL,
    params      TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    finished_at INTEGER,
    message     TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT 'null'
);
CREATE INDEX commands_by_host ON commands(host_id, state);
CREATE INDEX commands_by_state ON commands(state, expires_at);
CREATE TABLE quarantine (
    host_id        TEXT NOT NULL,
    qid            TEXT NOT NULL,
    path           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    md5            TEXT NOT NULL,
    size           INTEGER NOT NULL,
    quarantined_at INTEGER NOT NULL,
    state          TEXT NOT NULL,
    restored_at    INTEGER,
    record         TEXT NOT NULL,
    PRIMARY KEY (host_id, qid)
);
