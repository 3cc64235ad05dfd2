-- Heartbeat schema, migration 7: notifications as their own rows, channels as data, labels.
-- A notifiable transition becomes one `notification` row and one `notification_delivery` row per
-- enabled channel whose filter selects it, all inserted by the statement that records the
-- transition (never one without the other). Delivery workers in any collector claim due delivery
-- rows (FOR UPDATE SKIP LOCKED, then a lease) exactly as they claimed webhook_delivery rows.
-- webhook_delivery stays for collectors older than this migration, which still write and deliver
-- it during a rolling upgrade; no new collector touches it.

-- An application's labels: string keys to string values, for routing and templates.
ALTER TABLE application ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(labels) = 'object');

-- Where notifications go. `kind` names a sender in the collector (webhook, slack, alertmanager,
-- email, pagerduty …); it is not a CHECK so that a new kind needs no migration. `settings` is a
-- flat object of strings the kind validates; `secret` is what must not be shown back (a signing
-- key, a password, a routing key). A channel takes a notification when it is enabled, its
-- events list is NULL or holds the notification's event, and the application's labels contain
-- its `filter_labels`.
CREATE TABLE notification_channel (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    settings        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    secret          text,
    enabled         boolean NOT NULL DEFAULT true,
    filter_events   text[],
    filter_labels   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(filter_labels) = 'object'),
    title_template  text,
    body_template   text,
    -- Cluster-wide outcome counts, kept by the delivery workers.
    delivered       bigint NOT NULL DEFAULT 0,
    failed          bigint NOT NULL DEFAULT 0,
    abandoned       bigint NOT NULL DEFAULT 0,
    last_error      text,
    last_error_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- What happened, once, whoever it goes to. `event` is what channels filter on (the status a
-- transition entered: new, up, late, down, paused). `payload` is the JSON notification of
-- Spec/notifications.md, fixed when it is recorded. `state`: pending (deliveries owed), held and
-- released (for the noise controls that hold notifications back), sent (every delivery done),
-- abandoned (a delivery was given up).
CREATE TABLE notification (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject           text NOT NULL DEFAULT 'transition',
    event             text NOT NULL,
    application_id    integer,
    status_change_id  bigint REFERENCES status_change (id) ON DELETE CASCADE,
    payload           text NOT NULL,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'held', 'released', 'sent', 'abandoned')),
    -- Deliveries not yet finished (delivered or abandoned), and those abandoned: each worker
    -- subtracts what it finished under the row's lock, and the one that reaches 0 closes the state.
    deliveries_owed       integer NOT NULL DEFAULT 0,
    deliveries_abandoned  integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_open_idx ON notification (id) WHERE state IN ('pending', 'held', 'released');
-- An application's notifications, newest last (the Alertmanager re-send reads each down
-- application's latest `down`).
CREATE INDEX notification_application_idx ON notification (application_id, id);
-- What retention deletes: closed notifications by age.
CREATE INDEX notification_closed_idx ON notification (updated_at) WHERE state IN ('sent', 'abandoned');

-- One row per notification and channel. Its id is the dedupe id receivers see, so it draws from
-- webhook_delivery's sequence: an id is never reused across the two tables.
CREATE TABLE notification_delivery (
    id                bigint PRIMARY KEY DEFAULT nextval(pg_get_serial_sequence('webhook_delivery', 'id')),
    notification_id   bigint NOT NULL REFERENCES notification (id) ON DELETE CASCADE,
    channel_id        integer NOT NULL REFERENCES notification_channel (id) ON DELETE CASCADE,
    application_id    integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    leased_until      timestamptz,
    delivered_at      timestamptz,
    abandoned_at      timestamptz,
    last_error        text,
    UNIQUE (notification_id, channel_id)
);
-- What delivery workers scan: rows still owed, oldest first (claims walk it in id order and stop
-- at the batch size, whatever the table's statistics say).
CREATE INDEX notification_delivery_owed_id_idx ON notification_delivery (id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
-- What the in-order check reads: an application's rows still owed to a channel.
CREATE INDEX notification_delivery_owed_idx ON notification_delivery (application_id, channel_id, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- Collectors load labels (live reads show them), so changing them bumps the registry's version.
DROP TRIGGER application_registry_changed ON application;
CREATE TRIGGER application_registry_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF uuid, name, secret, previous_secret,
        previous_secret_expires_at, is_active, interval_ms, grace_ms, max_run_ms, schedule_cron, schedule_time_zone, labels
    ON application FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
