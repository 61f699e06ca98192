CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE notify_channels (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    config     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    host_id    TEXT NOT NULL,
    alert_id   BIGINT,
    state      TEXT NOT NULL,
    next_at    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    day_start  BIGINT NOT NULL,
    item       TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_at);
CREATE INDEX outbox_day ON outbox(channel_id, day_start);
CREATE TABLE outbox_attempts (
    outbox_id BIGINT NOT NULL,
    number    BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    outcome   TEXT NOT NULL,
    PRIMARY KEY (outbox_id, number)
);
CREATE TABLE notified (
    channel_id BIGINT NOT NULL,
    alert_id   BIGINT NOT NULL,
    PRIMARY KEY (channel_id, alert_id)
);
CREATE TABLE inbox (
    id         BIGSERIAL PRIMARY KEY,
    alert_id   BIGINT,
    host_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
