-- Heartbeat schema, migration 4: which applications the collector registered by itself.
-- `--auto-register` inserts unknown applications with auto_registered = true; they count towards
-- --auto-register-max and send no notifications (no webhook rows, no Redis publication) until an
-- operator names them (a PATCH of the name, or UPDATE … SET auto_registered = false), so a flood
-- of made-up UUIDs can neither fill the registry nor page anyone.
ALTER TABLE application ADD COLUMN auto_registered boolean NOT NULL DEFAULT false;
CREATE INDEX application_auto_registered_idx ON application (id) WHERE auto_registered;
