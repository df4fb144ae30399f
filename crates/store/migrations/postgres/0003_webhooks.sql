-- Webhooks (Standard Webhooks): endpoints with event filters, the outbox the writer fills in
-- the same transaction as the effect, one delivery per (endpoint, event) and every attempt.

CREATE TABLE webhook_endpoints (
    endpoint_id    UUID PRIMARY KEY,
    partner_id     UUID,                     -- NULL: the operator's own endpoint
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,            -- whsec_<base64>, the HMAC key signatures use
    event_types    TEXT NOT NULL,            -- JSON array of event types
    description    TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    disabled_at_ms BIGINT
);

-- The outbox: appended by the writer lanes, fanned out to matching endpoints by the
-- dispatcher (FOR UPDATE SKIP LOCKED, so several servers can share the work).
CREATE TABLE webhook_events (
    event_id       UUID PRIMARY KEY,         -- UUIDv7: time-ordered
    event_type     TEXT NOT NULL,
    partner_id     UUID,                     -- the partner the event concerns, if any
    user_id        UUID NOT NULL,
    occurred_at_ms BIGINT NOT NULL,
    outcome        TEXT NOT NULL,            -- the command's outcome, JSON
    fanned_out     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhook_events_pending ON webhook_events (event_id) WHERE NOT fanned_out;

CREATE TABLE webhook_deliveries (
    delivery_id        UUID PRIMARY KEY,
    endpoint_id        UUID NOT NULL REFERENCES webhook_endpoints (endpoint_id),
    event_id           UUID NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    last_status_code   INTEGER,
    last_error         TEXT,
    created_at_ms      BIGINT NOT NULL,
    finished_at_ms     BIGINT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at_ms);

CREATE TABLE webhook_attempts (
    delivery_id  UUID NOT NULL,
    attempt      INTEGER NOT NULL,
    at_ms        BIGINT NOT NULL,
    status_code  INTEGER,                    -- NULL when no HTTP answer came
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
