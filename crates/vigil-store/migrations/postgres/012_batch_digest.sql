-- The digest of the batch that claimed `last_seq`: a retry of it is a duplicate; anything else
-- at or below `last_seq` means the agent's counter went back, and it is told where to resume.
ALTER TABLE hosts ADD COLUMN last_batch_digest TEXT;
