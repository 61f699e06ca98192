CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE notify_channels (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    config     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    host_id    TEXT NOT NULL,
    alert_id   INTEGER,
    state      TEXT NOT NULL,
    next_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    day_start  INTEGER NOT NULL,
    item       TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_at);
CREATE INDEX outbox_day ON outbox(channel_id, day_start);
CREATE TABLE outbox_attempts (
    outbox_id INTEGER NOT NULL,
    number    INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    outcome   TEXT NOT NULL,
    PRIMARY KEY (outbox_id, number)
);
CREATE TABLE notified (
    channel_id INTEGER NOT NULL,
    alert_id   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, alert_id)
);
CREATE TABLE inbox (
    id         INTEGER PRIMARY KEY,
    alert_id   INTEGER,
    host_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
