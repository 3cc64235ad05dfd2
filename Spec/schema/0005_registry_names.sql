-- Heartbeat schema, migration 5: a renamed application reaches every collector's registry.
-- Status reads are answered from each collector's in-memory registry (Spec/storage.md), which
-- now holds names too, so a change of name bumps the registry's version like the other columns
-- collectors load.
DROP TRIGGER application_registry_changed ON application;
CREATE TRIGGER application_registry_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF uuid, name, secret, previous_secret,
        previous_secret_expires_at, is_active, interval_ms, grace_ms, max_run_ms
    ON application FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
