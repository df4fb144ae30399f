-- Methodology versions: every version the operator configured or an admin uploaded, kept
-- exactly as written. (name, version) is immutable: the same version with other text is
-- refused, so a ball's (methodology, methodology_version) always names one text.

CREATE TABLE methodology_versions (
    name              TEXT NOT NULL,
    version           INTEGER NOT NULL CHECK (version > 0),
    toml              TEXT NOT NULL,          -- the file as uploaded, byte for byte
    sha256            TEXT NOT NULL,          -- of `toml`, lowercase hex
    uploaded_at_ms    INTEGER NOT NULL,
    uploaded_by       BLOB,                   -- the admin's user id; NULL: the server's config
    activated_at_ms   INTEGER,                -- its latest activation, if any
    activated_by      BLOB,                   -- the admin who activated it; NULL: at start
    PRIMARY KEY (name, version)
) WITHOUT ROWID;

-- The active version: one row at most (singleton = 1), replaced by each activation.
CREATE TABLE methodology_active (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    name      TEXT NOT NULL,
    version   INTEGER NOT NULL,
    FOREIGN KEY (name, version) REFERENCES methodology_versions (name, version)
);
