-- Baseline results: one row per (host, check), replaced by each run the agent sends, with when
-- the check started failing and an operator's ignore (kept across runs until undone).
CREATE TABLE baseline_results (
    host_id         TEXT NOT NULL,
    check_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    evidence        TEXT NOT NULL DEFAULT '',
    file            TEXT NOT NULL DEFAULT '',
    first_failed_at INTEGER,
    last_run_at     INTEGER NOT NULL,
    ignored_reason  TEXT NOT NULL DEFAULT '',
    ignored_by      TEXT NOT NULL DEFAULT '',
    ignored_at      INTEGER,
    PRIMARY KEY (host_id, check_id)
);
CREATE INDEX baseline_by_check ON baseline_results(check_id, status);
