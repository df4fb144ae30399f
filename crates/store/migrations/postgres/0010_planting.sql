-- Planting: NGOs and their sites, the catalog of trees and protected land, pledges with their
-- holders, orders to NGOs, planting batches with evidence, and photos stored by content hash.

CREATE TABLE ngos (
    ngo_id        UUID PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    about         TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Users who sign in to the NGO portal for an NGO.
CREATE TABLE ngo_members (
    user_id     UUID PRIMARY KEY,
    ngo_id      UUID NOT NULL,
    added_at_ms BIGINT NOT NULL
);

-- API keys of NGOs' own systems, stored as SHA-256 hashes.
CREATE TABLE ngo_keys (
    key_hash      BYTEA PRIMARY KEY,
    key_id        UUID NOT NULL UNIQUE,
    ngo_id        UUID NOT NULL,
    name          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE sites (
    site_id       UUID PRIMARY KEY,
    ngo_id        UUID NOT NULL,
    name          TEXT NOT NULL,
    region        TEXT NOT NULL,
    latitude      DOUBLE PRECISION NOT NULL,
    longitude     DOUBLE PRECISION NOT NULL,
    -- A GeoJSON Polygon of the site's outline, if known.
    polygon       TEXT,
    created_at_ms BIGINT NOT NULL
);

-- Tree species (priced per tree) and protected land (priced per m²).
CREATE TABLE catalog_items (
    item_id         UUID PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('tree', 'land')),
    name            TEXT NOT NULL,
    scientific_name TEXT,
    ngo_id          UUID NOT NULL,
    site_id         UUID NOT NULL,
    unit_grams      BIGINT NOT NULL CHECK (unit_grams > 0),
    quota_units     BIGINT NOT NULL CHECK (quota_units >= 0),
    -- JSON list of {name, from_month, to_month}.
    seasons         TEXT NOT NULL,
    about           TEXT NOT NULL,
    -- Costs not taken from a source are demo values and say so.
    demo_values     BOOLEAN NOT NULL,
    created_at_ms   BIGINT NOT NULL
);

CREATE TABLE pledges (
    pledge_id      UUID PRIMARY KEY,
    item_id        UUID NOT NULL,
    planter_id     UUID NOT NULL,
    group_id       UUID,
    units          BIGINT NOT NULL,
    grams          BIGINT NOT NULL,
    season         TEXT NOT NULL,
    certificate_no TEXT NOT NULL UNIQUE,
    order_id       UUID,
    batch_id       UUID,
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX pledges_unordered ON pledges (created_at_ms) WHERE order_id IS NULL;
CREATE INDEX pledges_by_order ON pledges (order_id, item_id, created_at_ms);

-- Who holds a pledge and what they paid: one row per holder, keyed by holder so "my trees"
-- is one range read.
CREATE TABLE pledge_holders (
    user_id   UUID NOT NULL,
    pledge_id UUID NOT NULL,
    grams     BIGINT NOT NULL,
    PRIMARY KEY (user_id, pledge_id)
);

-- An order to an NGO: the pledges of one site and planting season.
CREATE TABLE orders (
    order_id      UUID PRIMARY KEY,
    ngo_id        UUID NOT NULL,
    site_id       UUID NOT NULL,
    season        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX orders_by_ngo ON orders (ngo_id, created_at_ms);

-- A planting (or protection) an NGO recorded, with its evidence.
CREATE TABLE planting_batches (
    batch_id       UUID PRIMARY KEY,
    order_id       UUID NOT NULL,
    ngo_id         UUID NOT NULL,
    item_id        UUID NOT NULL,
    units          BIGINT NOT NULL,
    planted_on     TEXT NOT NULL,
    latitude       DOUBLE PRECISION NOT NULL,
    longitude      DOUBLE PRECISION NOT NULL,
    polygon        TEXT,
    note           TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    verified_by    TEXT,
    verified_at_ms BIGINT
);
CREATE INDEX batches_by_order ON planting_batches (order_id, recorded_at_ms);

CREATE TABLE batch_photos (
    batch_id UUID NOT NULL,
    sha256   BYTEA NOT NULL,
    PRIMARY KEY (batch_id, sha256)
);

-- Immutable planting events for the transparency log: a batch recorded, a batch verified.
-- Each is logged with the batch as it stood (docs/transparency.md).
CREATE TABLE planting_records (
    record_id UUID PRIMARY KEY,
    batch_id  UUID NOT NULL,
    event     TEXT NOT NULL CHECK (event IN ('planted', 'verified')),
    at_ms     BIGINT NOT NULL
);
CREATE INDEX planting_records_by_batch ON planting_records (batch_id);

-- Evidence photos, stored once by the SHA-256 of their bytes.
CREATE TABLE photos (
    sha256        BYTEA PRIMARY KEY,
    content_type  TEXT NOT NULL,
    bytes         BYTEA NOT NULL,
    ngo_id        UUID NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- The journal's primary key (user_id, entry_id) already serves "my history" reads in order.
CREATE INDEX steals_by_thief ON steals (thief_id, at_ms);
