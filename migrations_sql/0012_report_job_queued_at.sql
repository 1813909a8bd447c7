-- When a queued job's id was last put on the queue. A worker that takes a
-- job's message and dies before it claims the job leaves the job queued with
-- no message: a sweeping worker puts back on the queue a job queued longer
-- than REPORT_HEARTBEAT_TIMEOUT whose id is not among the waiting messages.
-- A job queued before this migration counts from when it was asked for.

ALTER TABLE report_job ADD COLUMN queued_at TEXT;
UPDATE report_job SET queued_at = report_date WHERE status = 'queued';
