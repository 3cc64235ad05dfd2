-- Heartbeat schema, migration 10: what the uptime history and badges add (Spec/storage.md,
-- "Uptime"; Spec/access.md, "Badges").

-- Uptime reads every transition of an application in a window, in order (a year of hourly
-- transitions is 8,760 rows). This index returns them in that order with the status, from the
-- index alone, where the one it replaces needed the table's pages and a sort. It serves every
-- earlier reader of (application_id, at) as well.
CREATE INDEX status_change_application_at_id_idx ON status_change (application_id, at, id) INCLUDE (to_status);
DROP INDEX status_change_application_at_idx;

-- The key of an application's public badge (/badge/{key}.svg): a random uuid's 122 random bits, as
-- 32 hex digits, unrelated to the uuid, so that a badge in a README reveals nothing but the state
-- and uptime it shows. Rotated by POST /v1/apps/{uuid}/badge-key; every application has one.
ALTER TABLE application ADD COLUMN badge_key text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');
ALTER TABLE application ADD CONSTRAINT application_badge_key_unique UNIQUE (badge_key);
