-- Heartbeat schema, migration 9: rollups and loss accounting (Spec/storage.md, "Rollups").
-- Counts per (application, instance, minute), kept by each collector as it accepts records and
-- written with binary COPY once a minute, so liveness history, counts and loss no longer need a
-- row per beat (`--raw-events`).

-- One collector's counts of one (application, instance, minute). Several collectors each write
-- their own rows, and a collector may write a second row for a minute it already wrote (a record
-- that reached it late): readers merge by sum (counts) and by max/min (sequences, times, delays).
-- No key, so that a COPY never conflicts. `instance` and `seq_*` are stored like heartbeat_event's
-- (u32, and u64 as the same 64 bits); `seq_min`/`seq_max` are NULL when no record of the row
-- carried a sequence (HTTP pings). Daily range partitions, created ahead and dropped after
-- `--rollup-retention-days` like heartbeat_event's.
CREATE TABLE heartbeat_rollup_minute (
    application_id  integer NOT NULL,
    instance        bigint NOT NULL,
    minute          timestamptz NOT NULL,
    beats           integer NOT NULL,
    starts          integer NOT NULL,
    successes       integer NOT NULL,
    fails           integer NOT NULL,
    stops           integer NOT NULL,
    sequenced       integer NOT NULL,
    seq_min         bigint,
    seq_max         bigint,
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    delay_min_us    integer NOT NULL,
    delay_max_us    integer NOT NULL
) PARTITION BY RANGE (minute);
CREATE INDEX heartbeat_rollup_minute_application_idx ON heartbeat_rollup_minute (application_id, minute);

-- The minute rows of one UTC day merged (every collector's), derived by the maintenance thread for
-- each finished day and again for the day before it (late minute rows), by an upsert that
-- replaces the day's figures, so any collector may derive it any number of times. Long windows
-- (uptime bars, loss over months) read these. Kept as long as the minute rows.
CREATE TABLE heartbeat_rollup_day (
    application_id  integer NOT NULL,
    instance        bigint NOT NULL,
    day             date NOT NULL,
    beats           bigint NOT NULL,
    starts          bigint NOT NULL,
    successes       bigint NOT NULL,
    fails           bigint NOT NULL,
    stops           bigint NOT NULL,
    sequenced       bigint NOT NULL,
    seq_min         bigint,
    seq_max         bigint,
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    delay_min_us    integer NOT NULL,
    delay_max_us    integer NOT NULL,
    PRIMARY KEY (application_id, day, instance)
);
CREATE INDEX heartbeat_rollup_day_day_idx ON heartbeat_rollup_day (day);

-- Loss-aware delivery (the monitor leader): whether an application's merged loss over the last
-- five minutes is past the threshold. Flipped by a conditional UPDATE, so that each change is
-- recorded once in the cluster, as `delivery_event` rows and their notifications.
ALTER TABLE application ADD COLUMN delivery_degraded boolean NOT NULL DEFAULT false;

CREATE TABLE delivery_event (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id   integer NOT NULL REFERENCES application (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL DEFAULT now(),
    -- degraded: loss passed the threshold; recovered: it fell back under it.
    event            text NOT NULL CHECK (event IN ('degraded', 'recovered')),
    records_expected bigint NOT NULL,
    records_lost     bigint NOT NULL
);
CREATE INDEX delivery_event_application_idx ON delivery_event (application_id, id);
