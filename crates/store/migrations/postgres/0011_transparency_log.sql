-- The public transparency log (docs/transparency.md). Written only by the sequencer, never by
-- the ledger writer: leaves in the order they were integrated, and the signed tree heads.
-- Neither table is user-owned: under Citus they stay on the coordinator (or become reference
-- tables), which is why leaf_index is assigned by the sequencer and not by a sequence.
CREATE TABLE log_leaves (
    leaf_index       BIGINT PRIMARY KEY CHECK (leaf_index >= 0),
    record_kind      SMALLINT NOT NULL,
    record_id        UUID NOT NULL,
    leaf_hash        BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
    integrated_at_ms BIGINT NOT NULL,
    UNIQUE (record_kind, record_id)
);

CREATE TABLE log_heads (
    tree_size    BIGINT PRIMARY KEY CHECK (tree_size >= 0),
    root_hash    BYTEA NOT NULL CHECK (length(root_hash) = 32),
    timestamp_ms BIGINT NOT NULL,
    key_id       BYTEA NOT NULL CHECK (length(key_id) = 32),
    signature    BYTEA NOT NULL CHECK (length(signature) = 64)
);

-- The sequencer reads the journal by entry id (UUIDv7: time-ordered) from a little before the
-- newest logged entry. The journal's key starts with user_id, so that needs its own index;
-- new ids land on its right edge, which keeps the writer's extra cost to one cheap insert.
CREATE INDEX journal_by_entry_id ON journal (entry_id);
