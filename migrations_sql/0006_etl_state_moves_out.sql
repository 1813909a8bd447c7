-- The ETL keeps its runs and checkpoints in a file of its own (ETL_STATE_PATH),
-- so that it never writes to the catalogue while requests do: the table here
-- is no longer read. The first run after this migration is a full load.

DROP TABLE etl_run;
