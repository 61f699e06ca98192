CREATE TABLE commands (
    id          BIGSERIAL PRIMARY KEY,
    host_id     TEXT NOT NULL,
    alert_id    BIGINT,
    action      TEXT NOT NULL,
    params      TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    sent_at     BIGINT,
    finished_at BIGINT,
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
    size           BIGINT NOT NULL,
    quarantined_at BIGINT NOT NULL,
    state          TEXT NOT NULL,
    restored_at    BIGINT,
    record         TEXT NOT NULL,
    PRIMARY KEY (host_id, qid)
);
