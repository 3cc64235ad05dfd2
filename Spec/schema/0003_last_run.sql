-- Heartbeat schema, migration 3: each application's latest run.
-- A `start` record opens a run and the next `success`/`fail` closes it. A run that changes the
-- status carries its duration in status_change.run_duration_ms; every closed run, changing the
-- status or not, is kept here by the collector that received the closing record.
ALTER TABLE application
    ADD COLUMN last_run_ms  bigint CHECK (last_run_ms IS NULL OR last_run_ms >= 0),
    ADD COLUMN last_run_at  timestamptz;
