-- Heartbeat schema, migration 1: the registry, the heartbeat store and transitions.
-- Applied by `heartbeat migrate` and by `heartbeat serve` at start, under an advisory lock, each
-- migration in its own transaction. Never edit a published migration: add the next one.

-- Registered applications. `id` is dense (an identity) because collectors index flat in-memory
-- arrays with it; `uuid` is what records carry.
CREATE TABLE application (
    id                          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid                        uuid NOT NULL UNIQUE,
    name                        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    secret                      bytea CHECK (secret IS NULL OR length(secret) = 32),
    previous_secret             bytea CHECK (previous_secret IS NULL OR length(previous_secret) = 32),
    previous_secret_expires_at  timestamptz,
    interval_ms                 integer NOT NULL DEFAULT 60000 CHECK (interval_ms > 0),
    grace_ms                    integer NOT NULL DEFAULT 30000 CHECK (grace_ms >= 0),
    max_run_ms                  integer CHECK (max_run_ms IS NULL OR max_run_ms > 0),
    is_active                   boolean NOT NULL DEFAULT true,
    status                      text NOT NULL DEFAULT 'new'
                                CHECK (status IN ('new', 'up', 'late', 'down', 'paused')),
    last_heartbeat              timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);  -- room on each page for HOT updates of status (the monitor's writes)
CREATE INDEX application_is_active_idx ON application (is_active);
CREATE INDEX application_last_heartbeat_idx ON application (last_heartbeat);

-- Every accepted heartbeat, written only with binary COPY. Daily range partitions are created
-- ahead and dropped after the retention by the collector. No foreign key: it would cost every
-- COPY a lookup, and history outlives a deleted application until retention drops it.
-- `instance` is the u32 of the wire format; `seq` is its u64 stored as the same 64 bits (values
-- above 2^63 - 1 read back negative); `kind` is the wire kind (0 beat … 4 stop).
CREATE TABLE heartbeat_event (
    application_id  integer NOT NULL,
    received_at     timestamptz NOT NULL,
    sent_at         timestamptz NOT NULL,
    instance        bigint NOT NULL,
    seq             bigint NOT NULL,
    kind            smallint NOT NULL,
    status          integer NOT NULL
) PARTITION BY RANGE (received_at);
CREATE INDEX heartbeat_event_application_received_idx ON heartbeat_event (application_id, received_at);

-- Liveness transitions: exactly one row per change (the monitor arbitrates with a conditional
-- UPDATE on application.status).
CREATE TABLE status_change (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id   integer NOT NULL REFERENCES application (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL,
    from_status      text NOT NULL,
    to_status        text NOT NULL,
    reason           text NOT NULL,
    run_duration_ms  bigint
);
CREATE INDEX status_change_application_at_idx ON status_change (application_id, at);

-- The registry's version: bumped whenever a column that collectors load changes, so that each
-- collector reloads its registry within a poll period (and is told at once through NOTIFY).
CREATE TABLE registry_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL
);
INSERT INTO registry_version (version) VALUES (1);

CREATE FUNCTION bump_registry_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_version SET version = version + 1;
    PERFORM pg_notify('heartbeat_registry', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER application_registry_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF uuid, secret, previous_secret,
        previous_secret_expires_at, is_active, interval_ms, grace_ms, max_run_ms
    ON application FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
