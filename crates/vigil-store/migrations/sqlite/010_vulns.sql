-- Vulnerabilities found on hosts: one row per (host, installed package, advisory), kept across
-- scans so that its lifecycle (unfixed, fixed by a later scan, ignored by an operator) and its
-- first and last sighting survive.
CREATE TABLE vulns (
    host_id       TEXT NOT NULL,
    package       TEXT NOT NULL,
    advisory_id   TEXT NOT NULL,
    ids           TEXT NOT NULL,
    ecosystem     TEXT NOT NULL,
    installed     TEXT NOT NULL,
    fixed         TEXT,
    level         TEXT NOT NULL,
    rce           INTEGER NOT NULL DEFAULT 0,
    summary       TEXT NOT NULL,
    fix_command   TEXT,
    needs_restart INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    handled_by    TEXT NOT NULL DEFAULT '',
    handled_at    INTEGER,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    fixed_at      INTEGER,
    PRIMARY KEY (host_id, package, advisory_id)
);
CREATE INDEX vulns_by_status ON vulns(status, level);
CREATE INDEX vulns_by_advisory ON vulns(advisory_id);
