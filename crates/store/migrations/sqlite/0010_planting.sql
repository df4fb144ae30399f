-- Planting: NGOs and their sites, the catalog of trees and protected land, pledges with their
-- holders, orders to NGOs, planting batches with evidence, and photos stored by content hash.

CREATE TABLE ngos (
    ngo_id        BLOB PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    about         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Users who sign in to the NGO portal for an NGO.
CREATE TABLE ngo_members (
    user_id     BLOB PRIMARY KEY,
    ngo_id      BLOB NOT NULL,
    added_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- API keys of NGOs' own systems, stored as SHA-256 hashes.
CREATE TABLE ngo_keys (
    key_hash      BLOB PRIMARY KEY,
    key_id        BLOB NOT NULL UNIQUE,
    ngo_id        BLOB NOT NULL,
    name          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
) WITHOUT ROWID;

CREATE TABLE sites (
    site_id       BLOB PRIMARY KEY,
    ngo_id        BLOB NOT NULL,
    name          TEXT NOT NULL,
    region        TEXT NOT NULL,
    latitude      REAL NOT NULL,
    longitude     REAL NOT NULL,
    -- A GeoJSON Polygon of the site's outline, if known.
    polygon       TEXT,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Tree species (priced per tree) and protected land (priced per m²).
CREATE TABLE catalog_items (
    item_id         BLOB PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('tree', 'land')),
    name            TEXT NOT NULL,
    scientific_name TEXT,
    ngo_id          BLOB NOT NULL,
    site_id         BLOB NOT NULL,
    unit_grams      INTEGER NOT NULL CHECK (unit_grams > 0),
    quota_units     INTEGER NOT NULL CHECK (quota_units >= 0),
    -- JSON list of {name, from_month, to_month}.
    seasons         TEXT NOT NULL,
    about           TEXT NOT NULL,
    -- Costs not taken from a source are demo values and say so.
    demo_values     INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE pledges (
    pledge_id      BLOB PRIMARY KEY,
    item_id        BLOB NOT NULL,
    planter_id     BLOB NOT NULL,
    group_id       BLOB,
    units          INTEGER NOT NULL,
    grams          INTEGER NOT NULL,
    season         TEXT NOT NULL,
    certificate_no TEXT NOT NULL UNIQUE,
    order_id       BLOB,
    batch_id       BLOB,
    created_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pledges_unordered ON pledges (created_at_ms) WHERE order_id IS NULL;
CREATE INDEX pledges_by_order ON pledges (order_id, item_id, created_at_ms);

-- Who holds a pledge and what they paid: one row per holder, keyed by holder so "my trees"
-- is one range read.
CREATE TABLE pledge_holders (
    user_id   BLOB NOT NULL,
    pledge_id BLOB NOT NULL,
    grams     INTEGER NOT NULL,
    PRIMARY KEY (user_id, pledge_id)
) WITHOUT ROWID;

-- An order to an NGO: the pledges of one site and planting season.
CREATE TABLE orders (
    order_id      BLOB PRIMARY KEY,
    ngo_id        BLOB NOT NULL,
    site_id       BLOB NOT NULL,
    season        TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX orders_by_ngo ON orders (ngo_id, created_at_ms);

-- A planting (or protection) an NGO recorded, with its evidence.
CREATE TABLE planting_batches (
    batch_id       BLOB PRIMARY KEY,
    order_id       BLOB NOT NULL,
    ngo_id         BLOB NOT NULL,
    item_id        BLOB NOT NULL,
    units          INTEGER NOT NULL,
    planted_on     TEXT NOT NULL,
    latitude       REAL NOT NULL,
    longitude      REAL NOT NULL,
    polygon        TEXT,
    note           TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    verified_by    TEXT,
    verified_at_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX batches_by_order ON planting_batches (order_id, recorded_at_ms);

CREATE TABLE batch_photos (
    batch_id BLOB NOT NULL,
    sha256   BLOB NOT NULL,
    PRIMARY KEY (batch_id, sha256)
) WITHOUT ROWID;

-- Immutable planting events for the transparency log: a batch recorded, a batch verified.
-- Each is logged with the batch as it stood (docs/transparency.md).
CREATE TABLE planting_records (
    record_id BLOB PRIMARY KEY,
    batch_id  BLOB NOT NULL,
    event     TEXT NOT NULL CHECK (event IN ('planted', 'verified')),
    at_ms     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX planting_records_by_batch ON planting_records (batch_id);

-- Evidence photos, stored once by the SHA-256 of their bytes.
CREATE TABLE photos (
    sha256        BLOB PRIMARY KEY,
    content_type  TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    ngo_id        BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- "My history" reads (certificate lineage) walk one user's entries in order.
CREATE INDEX journal_by_user ON journal (user_id, seq);
CREATE INDEX steals_by_thief ON steals (thief_id, at_ms);
