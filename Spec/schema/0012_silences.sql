-- Heartbeat schema, migration 12: maintenance windows (Spec/liveness.md, "Silences").

-- A silence covers applications (all of them, a list of uuids, those whose labels contain
-- `labels`, or those whose name starts with `name_prefix`: exactly one) from `starts_at` until
-- `ends_at`, or from each fire time of `schedule_cron` in `schedule_time_zone` for `duration_ms`
-- (exactly one of the two forms). Collectors hold silences with the registry, so every change
-- bumps its version.
CREATE TABLE silence (
    id                  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    all_applications    boolean NOT NULL DEFAULT false,
    application_uuids   uuid[] CHECK (application_uuids IS NULL OR cardinality(application_uuids) BETWEEN 1 AND 10000),
    labels              jsonb CHECK (labels IS NULL OR (jsonb_typeof(labels) = 'object' AND labels <> '{}'::jsonb)),
    name_prefix         text CHECK (name_prefix IS NULL OR length(name_prefix) BETWEEN 1 AND 200),
    starts_at           timestamptz,
    ends_at             timestamptz,
    schedule_cron       text,
    schedule_time_zone  text,
    duration_ms         bigint,
    comment             text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT silence_one_selector
        CHECK (num_nonnulls(nullif(all_applications, false), application_uuids, labels, name_prefix) = 1),
    CONSTRAINT silence_one_window CHECK (
        (starts_at IS NOT NULL AND ends_at > starts_at AND schedule_cron IS NULL AND schedule_time_zone IS NULL AND duration_ms IS NULL)
        OR (starts_at IS NULL AND ends_at IS NULL AND schedule_cron IS NOT NULL AND schedule_time_zone IS NOT NULL
            AND duration_ms BETWEEN 60000 AND 604800000))
);
CREATE TRIGGER silence_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON silence
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();

-- A transition recorded while a silence covered its application (its notifications were held).
-- A constant default: adding the column rewrites nothing.
ALTER TABLE status_change ADD COLUMN silenced boolean NOT NULL DEFAULT false;

-- `held`: a silenced transition's notification, owed to nobody yet. When the silence ends it is
-- `released` (the application is still not up: its channels are notified once) or `silenced`
-- (it recovered, or a later transition replaced it: never sent, kept as a record).
ALTER TABLE notification DROP CONSTRAINT notification_state_check;
ALTER TABLE notification ADD CONSTRAINT notification_state_check
    CHECK (state IN ('pending', 'held', 'released', 'sent', 'abandoned', 'silenced'));
-- What the release reads every second: the applications with held notifications.
CREATE INDEX notification_held_idx ON notification (application_id, id) WHERE state = 'held';
-- Retention deletes silenced notifications as it deletes sent ones.
DROP INDEX IF EXISTS notification_closed_idx;
CREATE INDEX notification_closed_idx ON notification (updated_at) WHERE state IN ('sent', 'abandoned', 'silenced');
