-- Amazing Species: the cards each user holds (a count per species), every draw with the seed
-- that decided it (support replays them), and the set rewards already given (once per set).
-- Cards are not energy: nothing here touches the journal.

CREATE TABLE species_cards (
    user_id     UUID NOT NULL,
    species_id  TEXT NOT NULL,
    count       BIGINT NOT NULL CHECK (count >= 1),
    first_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, species_id)
);

CREATE TABLE species_draws (
    user_id    UUID NOT NULL,
    reason     TEXT NOT NULL,               -- daily:<day>, planting:<pledge>, task:<task>:<period>
    draw_id    UUID NOT NULL,
    seed       BYTEA NOT NULL,               -- 32 bytes
    species_id TEXT NOT NULL,
    pool       TEXT NOT NULL,               -- fingerprint of the odds and catalog drawn from
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (user_id, reason)
);

CREATE TABLE species_set_rewards (
    user_id UUID NOT NULL,
    set_id  TEXT NOT NULL,
    prop    TEXT NOT NULL,
    count   BIGINT NOT NULL,
    at_ms   BIGINT NOT NULL,
    PRIMARY KEY (user_id, set_id)
);

-- Which card a feed line is about (a card gifted or given).
ALTER TABLE feed ADD COLUMN species_id TEXT;
