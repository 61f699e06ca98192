CREATE TABLE alert_links (
    alert_id   INTEGER NOT NULL,
    related_id INTEGER NOT NULL,
    PRIMARY KEY (alert_id, related_id)
);
