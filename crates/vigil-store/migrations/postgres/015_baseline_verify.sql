-- A "verify" an operator asked for: the check shows as verifying until the host's next run
-- replaces its row.
ALTER TABLE baseline_results ADD COLUMN verify_requested_at BIGINT;
