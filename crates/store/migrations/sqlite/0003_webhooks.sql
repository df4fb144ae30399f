-- Webhooks (Standard Webhooks): endpoints with event filters, the outbox the writer fills in
-- the same transaction as the effect, one delivery per (endpoint, event) and every attempt.

CREATE TABLE webhook_endpoints (
    endpoint_id    BLOB PRIMARY KEY,
    partner_id     BLOB,                     -- NULL: the operator's own endpoint
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,            -- whsec_<base64>, the HMAC key signatures use
    event_types    TEXT NOT NULL,            -- JSON array of event types
    description    TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    disabled_at_ms INTEGER
) WITHOUT ROWID;

-- The outbox: appended by the writer, fanned out to matching endpoints by the dispatcher.
CREATE TABLE webhook_events (
    seq            INTEGER PRIMARY KEY,
    event_id       BLOB NOT NULL UNIQUE,
    event_type     TEXT NOT NULL,
    partner_id     BLOB,                     -- the partner the event concerns, if any
    user_id        BLOB NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    outcome        TEXT NOT NULL,            -- the command's outcome, JSON
    fanned_out     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_events_pending ON webhook_events (seq) WHERE fanned_out = 0;

CREATE TABLE webhook_deliveries (
    delivery_id        BLOB PRIMARY KEY,
    endpoint_id        BLOB NOT NULL REFERENCES webhook_endpoints (endpoint_id),
    event_id           BLOB NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_status_code   INTEGER,
    last_error         TEXT,
    created_at_ms      INTEGER NOT NULL,
    finished_at_ms     INTEGER,
    UNIQUE (endpoint_id, event_id)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at_ms);

CREATE TABLE webhook_attempts (
    delivery_id  BLOB NOT NULL,
    attempt      INTEGER NOT NULL,
    at_ms        INTEGER NOT NULL,
    status_code  INTEGER,                    -- NULL when no HTTP answer came
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
