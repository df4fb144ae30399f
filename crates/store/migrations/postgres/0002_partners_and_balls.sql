-- Partners, their keys and users' consent links; energy balls; per-user usage for caps;
-- household dedup keys; the server's own secrets.

CREATE TABLE partners (
    partner_id      UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    allowed_actions TEXT NOT NULL,           -- JSON array of methodology action keys
    disabled_at_ms  BIGINT,
    created_at_ms   BIGINT NOT NULL
);

-- Ed25519 public keys, by the key id partners put in their signatures. Rotation: add the new
-- key, move over, revoke the old one.
CREATE TABLE partner_keys (
    key_id        TEXT PRIMARY KEY,
    partner_id    UUID NOT NULL,
    public_key    TEXT NOT NULL,             -- 32 raw bytes, standard base64
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

-- A user's consent to be credited by a partner, under a pairwise pseudonymous id. Withdrawn
-- consent is marked, not deleted, so a partner is told "withdrawn" rather than "unknown".
CREATE TABLE partner_links (
    partner_id      UUID NOT NULL,
    partner_user_id TEXT NOT NULL,
    user_id         UUID NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    unlinked_at_ms  BIGINT,
    PRIMARY KEY (partner_id, partner_user_id)
);

CREATE TABLE user_partner_links (
    user_id         UUID NOT NULL,
    partner_id      UUID NOT NULL,
    partner_user_id TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    unlinked_at_ms  BIGINT,
    PRIMARY KEY (user_id, partner_id)
);

CREATE TABLE balls (
    user_id             UUID NOT NULL,
    ball_id             UUID NOT NULL,
    grams               BIGINT NOT NULL CHECK (grams > 0),
    ripens_at_ms        BIGINT NOT NULL,
    expires_at_ms       BIGINT NOT NULL,
    partner_id          UUID NOT NULL,
    action              TEXT NOT NULL,
    methodology         TEXT NOT NULL,
    methodology_version BIGINT NOT NULL,
    created_at_ms       BIGINT NOT NULL,
    PRIMARY KEY (user_id, ball_id)
);

-- The expiry job finds due balls by time.
CREATE INDEX balls_expires_at ON balls (expires_at_ms);

-- What each user was credited per action type and local day ("2026-11-24") or month ("2026-11").
CREATE TABLE usage (
    user_id        UUID NOT NULL,
    action         TEXT NOT NULL,
    period         TEXT NOT NULL,
    actions        BIGINT NOT NULL,
    quantity_milli BIGINT NOT NULL,
    grams          BIGINT NOT NULL,
    PRIMARY KEY (user_id, action, period)
);

CREATE TABLE dedup_keys (
    dedup_key     TEXT PRIMARY KEY,
    user_id       UUID NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
