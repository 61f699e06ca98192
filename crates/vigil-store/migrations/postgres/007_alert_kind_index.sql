CREATE INDEX alerts_by_kind_status_time ON alerts(kind, status, last_seen DESC, id DESC);
