-- Heartbeat schema, migration 13: the incident hold (Spec/liveness.md, "Incident hold").

-- One row per incident: when the monitor decided the problem was the network's or its own
-- (`cause`: late_burst, lost_traffic, arrivals_fell), how many applications had gone late in the
-- window that opened it, and when and why it closed (`ending`: traffic_returned, maximum_hold, or
-- orphaned: left open by a monitor that stopped)
-- with how many applications its grouped notification named.
CREATE TABLE incident (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opened_at          timestamptz NOT NULL,
    cause              text NOT NULL CHECK (cause IN ('late_burst', 'lost_traffic', 'arrivals_fell')),
    late_in_window     integer NOT NULL DEFAULT 0,
    closed_at          timestamptz,
    ending             text CHECK (ending IN ('traffic_returned', 'maximum_hold', 'orphaned')),
    applications_down  integer,
    CHECK ((closed_at IS NULL) = (ending IS NULL))
);
-- At most one open incident in the cluster: a monitor that takes over mid-incident finds it.
CREATE UNIQUE INDEX incident_one_open ON incident ((closed_at IS NULL)) WHERE closed_at IS NULL;

-- A notification held by an incident (state `held`): decided when the incident closes, never by
-- the silence release.
ALTER TABLE notification ADD COLUMN incident_id bigint REFERENCES incident (id) ON DELETE SET NULL;
CREATE INDEX notification_incident_idx ON notification (incident_id) WHERE incident_id IS NOT NULL;
