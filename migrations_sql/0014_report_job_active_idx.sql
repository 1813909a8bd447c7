-- A user may have only so many report jobs queued or running at once
-- (REPORT_JOBS_PER_USER): each new job counts the owner's unfinished ones
-- through this index, never reading the finished jobs kept beside them.

CREATE INDEX report_job_active_idx ON report_job (owner_id)
    WHERE status IN ('queued', 'running');
