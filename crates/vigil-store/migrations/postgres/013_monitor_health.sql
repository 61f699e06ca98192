-- The agent's monitors as of its last heartbeat (a JSON array of vigil_proto's MonitorHealth).
ALTER TABLE hosts ADD COLUMN monitors TEXT NOT NULL DEFAULT '[]';
