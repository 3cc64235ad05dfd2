-- Heartbeat schema, migration 2: the webhook outbox.
-- Each transition the monitor records becomes one row per configured webhook URL, inserted by the
-- same statement as its status_change row (so a transition is never recorded without its
-- notifications, nor notified without being recorded). Delivery workers in any collector claim due
-- rows (FOR UPDATE SKIP LOCKED, then a lease), POST them, and mark them delivered; a worker that
-- dies mid-delivery leaves a lease that expires, and another worker sends the row again.
-- Per application and URL, rows are delivered in order: one waits while an earlier one is owed.

CREATE TABLE webhook_delivery (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status_change_id  bigint NOT NULL REFERENCES status_change (id) ON DELETE CASCADE,
    application_id    integer NOT NULL,
    url               text NOT NULL,
    payload           text NOT NULL,          -- the JSON body, fixed when the transition is recorded
    created_at        timestamptz NOT NULL DEFAULT now(),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    leased_until      timestamptz,            -- a worker is sending it until then
    delivered_at      timestamptz,            -- the receiver answered 2xx
    abandoned_at      timestamptz,            -- given up after the last attempt
    last_error        text
);
-- What delivery workers scan: rows still owed, by when they are due.
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
-- What the in-order check reads: an application's rows still owed to a URL.
CREATE INDEX webhook_delivery_owed_idx ON webhook_delivery (application_id, url, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
