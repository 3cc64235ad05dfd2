-- Heartbeat schema, migration 11: per-application noise controls (Spec/liveness.md, "Thresholds";
-- Spec/notifications.md, "Reminders").

-- down_after: consecutive missed deadlines (or fail records) before an application is down; late
-- still shows at the first. up_after: consecutive on-time records before a down one is up again.
ALTER TABLE application ADD COLUMN down_after integer NOT NULL DEFAULT 1 CHECK (down_after BETWEEN 1 AND 1000);
ALTER TABLE application ADD COLUMN up_after integer NOT NULL DEFAULT 1 CHECK (up_after BETWEEN 1 AND 1000);

-- While down, the channels are notified again every remind_every_ms: NULL follows the collector's
-- --remind-every (off unless set), 0 never reminds. reminded_at is when the latest reminder was
-- queued, the mark of the conditional UPDATE that queues each reminder once in the cluster.
ALTER TABLE application ADD COLUMN remind_every_ms integer
    CHECK (remind_every_ms IS NULL OR remind_every_ms = 0 OR remind_every_ms BETWEEN 1000 AND 2147483647);
ALTER TABLE application ADD COLUMN reminded_at timestamptz;

-- What the reminder scan reads every second: the applications that are down (few, among a million).
CREATE INDEX application_down_idx ON application (id) WHERE status = 'down';

-- Collectors load the thresholds with the policies, so changing them bumps the registry's version.
DROP TRIGGER application_registry_changed ON application;
CREATE TRIGGER application_registry_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF uuid, name, secret, previous_secret,
        previous_secret_expires_at, is_active, interval_ms, grace_ms, max_run_ms, schedule_cron, schedule_time_zone, labels,
        down_after, up_after, remind_every_ms
    ON application FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
