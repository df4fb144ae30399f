-- Foundation: people, sessions, operator keys, the journal and balances.
-- UUIDs are native uuid; times are milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    user_id       UUID PRIMARY KEY,
    handle        TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    password_hash TEXT,
    created_at_ms BIGINT NOT NULL
);

-- Lookup tables keyed by what is looked up, so each can be distributed by its own key.
CREATE TABLE user_handles (
    handle  TEXT PRIMARY KEY,
    user_id UUID NOT NULL
);

CREATE TABLE external_users (
    external_id TEXT PRIMARY KEY,
    user_id     UUID NOT NULL
);

CREATE TABLE sessions (
    token_hash    BYTEA PRIMARY KEY,
    user_id       UUID NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE TABLE operator_keys (
    key_hash      BYTEA PRIMARY KEY,
    key_id        UUID NOT NULL UNIQUE,
    name          TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

-- Maintained balances of holding accounts (ball, wallet, pot, pledge): a cache of the journal.
CREATE TABLE balances (
    owner_id   UUID NOT NULL,
    kind       SMALLINT NOT NULL,
    account_id UUID NOT NULL,
    grams      BIGINT NOT NULL CHECK (grams >= 0),
    PRIMARY KEY (owner_id, kind, account_id)
);

-- The double-entry journal: the truth every balance is derived from.
CREATE TABLE journal (
    user_id    UUID NOT NULL,
    entry_id   UUID NOT NULL,
    at_ms      BIGINT NOT NULL,
    kind       SMALLINT NOT NULL,
    from_owner UUID NOT NULL,
    from_kind  SMALLINT NOT NULL,
    from_id    UUID NOT NULL,
    to_owner   UUID NOT NULL,
    to_kind    SMALLINT NOT NULL,
    to_id      UUID NOT NULL,
    grams      BIGINT NOT NULL CHECK (grams > 0),
    reference  TEXT,
    PRIMARY KEY (user_id, entry_id)
);

-- Idempotency keys, written in the same transaction as their effect.
CREATE TABLE idempotency (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   BYTEA NOT NULL,
    outcome       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
