CREATE TABLE alert_links (
    alert_id   BIGINT NOT NULL,
    related_id BIGINT NOT NULL,
    PRIMARY KEY (alert_id, related_id)
);
