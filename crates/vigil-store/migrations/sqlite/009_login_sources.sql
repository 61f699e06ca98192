-- Failed logins per host, UTC day, source and service: the attack analysis (SPEC R-LG10).
CREATE TABLE login_sources (
    host_id  TEXT NOT NULL,
    day      INTEGER NOT NULL,
    source   TEXT NOT NULL,
    service  TEXT NOT NULL,
    failures INTEGER NOT NULL,
    PRIMARY KEY (host_id, day, source, service)
);
CREATE INDEX login_sources_by_day ON login_sources(day);
