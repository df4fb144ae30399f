-- Foundation: people, sessions, operator keys, the journal and balances.
-- UUIDs are 16-byte blobs; times are milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    user_id       BLOB PRIMARY KEY,
    handle        TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    password_hash TEXT,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Lookup tables keyed by what is looked up, so each can be distributed by its own key.
CREATE TABLE user_handles (
    handle  TEXT PRIMARY KEY,
    user_id BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE external_users (
    external_id TEXT PRIMARY KEY,
    user_id     BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    token_hash    BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE operator_keys (
    key_hash      BLOB PRIMARY KEY,
    key_id        BLOB NOT NULL UNIQUE,
    name          TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
) WITHOUT ROWID;

-- Maintained balances of holding accounts (ball, wallet, pot, pledge): a cache of the journal.
CREATE TABLE balances (
    owner_id   BLOB NOT NULL,
    kind       INTEGER NOT NULL,
    account_id BLOB NOT NULL,
    grams      INTEGER NOT NULL CHECK (grams >= 0),
    PRIMARY KEY (owner_id, kind, account_id)
) WITHOUT ROWID;

-- The double-entry journal: the truth every balance is derived from. In SQLite it is keyed by
-- an append-only sequence so a batch's entries land on a few adjacent pages instead of one
-- random page each (the PostgreSQL schema keys it by user for distribution instead).
CREATE TABLE journal (
    seq        INTEGER PRIMARY KEY,
    user_id    BLOB NOT NULL,
    entry_id   BLOB NOT NULL UNIQUE,
    at_ms      INTEGER NOT NULL,
    kind       INTEGER NOT NULL,
    from_owner BLOB NOT NULL,
    from_kind  INTEGER NOT NULL,
    from_id    BLOB NOT NULL,
    to_owner   BLOB NOT NULL,
    to_kind    INTEGER NOT NULL,
    to_id      BLOB NOT NULL,
    grams      INTEGER NOT NULL CHECK (grams > 0),
    reference  TEXT
);

-- Idempotency keys, written in the same transaction as their effect.
CREATE TABLE idempotency (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   BLOB NOT NULL,
    outcome       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
