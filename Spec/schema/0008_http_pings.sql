-- Heartbeat schema, migration 8: what HTTP pings add (Spec/http-ping.md): job runs with their
-- output, and applications a ping created (provisioning).

-- Created by a ping with ?create=1 and the provisioning key: counted against the same cap as
-- UDP auto-registration (--auto-register-max). Not loaded by collectors (no registry trigger).
ALTER TABLE application ADD COLUMN provisioned boolean NOT NULL DEFAULT false;

-- application.last_heartbeat is rewritten for every active application every 10 s (the
-- last-heartbeat writer). No query looks rows up by it, and its index made each of those updates
-- a non-HOT update that also touched every other index of the table; without it, and with room
-- left on each page (for pages written from now on), they are HOT updates. Found with
-- scripts/bench-ping, where 100,000 applications pinging made this writer PostgreSQL's busiest
-- connection.
DROP INDEX IF EXISTS application_last_heartbeat_idx;
ALTER TABLE application SET (fillfactor = 85);

-- Job runs reported over HTTP, with their output.
-- A `start` ping opens a run; an end ping (success, fail, an exit status) closes the newest open
-- run of the same application, instance and run id (`?rid=`), or is a run of its own when none is
-- open; a `log` ping is an entry of its own. The output a POST carries is kept here, at most
-- 100 KiB (the last bytes are kept when more arrived: `output_bytes` says how many did). Each
-- application keeps its newest runs only (`--run-history`), and runs older than
-- `--run-retention-days` are deleted.
CREATE TABLE job_run (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id    integer NOT NULL REFERENCES application (id) ON DELETE CASCADE,
    -- The run id a job chose (`?rid=`), to pair a start with its end when runs overlap.
    run_key           text CHECK (run_key ~ '^[A-Za-z0-9._:-]{1,64}$'),
    -- The instance (the ping's `?instance=` hash, as the heartbeat_event column); 0 without one.
    instance          bigint NOT NULL DEFAULT 0,
    outcome           text NOT NULL CHECK (outcome IN ('running', 'success', 'fail', 'log')),
    started_at        timestamptz,
    ended_at          timestamptz,
    exit_status       integer,
    -- The output as text (invalid UTF-8 replaced, NUL removed), its last 100 KiB at most.
    output            text,
    output_bytes      bigint NOT NULL DEFAULT 0 CHECK (output_bytes >= 0),
    output_truncated  boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- An application's runs, newest first (the runs API, the detail page, the per-application cap).
CREATE INDEX job_run_application ON job_run (application_id, id DESC);
-- The open run an end ping closes.
CREATE INDEX job_run_open ON job_run (application_id, instance, id DESC) WHERE outcome = 'running';
-- Retention.
CREATE INDEX job_run_created ON job_run (created_at);
