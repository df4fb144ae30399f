-- The public transparency log (docs/transparency.md). Written only by the sequencer, never by
-- the ledger writer: leaves in the order they were integrated, and the signed tree heads.
CREATE TABLE log_leaves (
    leaf_index       INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
    record_kind      INTEGER NOT NULL,
    record_id        BLOB NOT NULL,
    leaf_hash        BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    integrated_at_ms INTEGER NOT NULL,
    UNIQUE (record_kind, record_id)
);

CREATE TABLE log_heads (
    tree_size    INTEGER PRIMARY KEY CHECK (tree_size >= 0),
    root_hash    BLOB NOT NULL CHECK (length(root_hash) = 32),
    timestamp_ms INTEGER NOT NULL,
    key_id       BLOB NOT NULL CHECK (length(key_id) = 32),
    signature    BLOB NOT NULL CHECK (length(signature) = 64)
) WITHOUT ROWID;
