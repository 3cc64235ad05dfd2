-- Heartbeat schema, migration 6: an application promises either a record every interval_ms or
-- a record at each fire time of a cron schedule in a time zone (Spec/schedules.md), never both.
-- interval_ms becomes NULL for a scheduled application; the schedule's two columns are set or
-- unset together. Collectors load the schedule, so changing it bumps the registry's version.
ALTER TABLE application
    ADD COLUMN schedule_cron text CHECK (schedule_cron IS NULL OR length(schedule_cron) BETWEEN 1 AND 200),
    ADD COLUMN schedule_time_zone text CHECK (schedule_time_zone IS NULL OR length(schedule_time_zone) BETWEEN 1 AND 64),
    ALTER COLUMN interval_ms DROP NOT NULL,
    ADD CONSTRAINT application_one_expectation CHECK (
        (schedule_cron IS NULL) = (schedule_time_zone IS NULL) AND (schedule_cron IS NULL) = (interval_ms IS NOT NULL));
DROP TRIGGER application_registry_changed ON application;
CREATE TRIGGER application_registry_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF uuid, name, secret, previous_secret,
        previous_secret_expires_at, is_active, interval_ms, grace_ms, max_run_ms, schedule_cron, schedule_time_zone
    ON application FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
