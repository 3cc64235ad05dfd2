-- Heartbeat schema, migration 14: instance quorum (Spec/liveness.md, "Instance quorum").

-- min_instances: distinct instances (the records' `instance`) that must report within the
-- expectation for the application to be up; with fewer, but some, it is `short`.
ALTER TABLE application ADD COLUMN min_instances integer NOT NULL DEFAULT 1 CHECK (min_instances BETWEEN 1 AND 1000);

-- The new status. Replacing the CHECK reads the application table once.
ALTER TABLE application DROP CONSTRAINT application_status_check;
ALTER TABLE application ADD CONSTRAINT application_status_check CHECK (status IN ('new', 'up', 'late', 'down', 'paused', 'short'));

-- Collectors load min_instances with the policies, so changing it bumps the registry's version.
DROP TRIGGER application_registry_changed ON application;
CREATE TRIGGER application_registry_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF uuid, name, secret, previous_secret,
        previous_secret_expires_at, is_active, interval_ms, grace_ms, max_run_ms, schedule_cron, schedule_time_zone, labels,
        down_after, up_after, remind_every_ms, min_instances
    ON application FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
