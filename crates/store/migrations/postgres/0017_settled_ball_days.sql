-- A UTC day's partition of balls is dropped once every ball in it is settled (it holds 0 g) and
-- the day is older than the retention (crates/store/src/postgres/partitions.rs). What is still
-- read of those balls afterwards is kept here first, in the transaction that drops the day.

-- Certificate lineage: the action each ball was credited for (`watering` for a friend's
-- watering), by owner and ball, as the lineage looks balls up. A ball is here or in `balls`,
-- never in both.
CREATE TABLE ball_origins (
    user_id UUID NOT NULL,
    ball_id UUID NOT NULL,
    action  TEXT NOT NULL,
    PRIMARY KEY (user_id, ball_id)
);

-- The impact dashboard: the dropped balls' energy, summed per UTC day of crediting, partner and
-- action, as the dashboard sums the balls still in `balls`.
CREATE TABLE credited_days (
    day        BIGINT NOT NULL,
    partner_id UUID NOT NULL,
    action     TEXT NOT NULL,
    grams      BIGINT NOT NULL,
    actions    BIGINT NOT NULL,
    PRIMARY KEY (day, partner_id, action)
);

-- Every partition dropped, with what it held, so the hourly partition maker never makes it
-- again (a ball whose day was dropped would land in balls_default).
CREATE TABLE dropped_ball_days (
    partition_name TEXT PRIMARY KEY,
    -- The partition held the balls ripening before this instant (and from the day before).
    until_ms       BIGINT NOT NULL,
    balls          BIGINT NOT NULL,
    grams          BIGINT NOT NULL,
    balances       BIGINT NOT NULL,
    dropped_at_ms  BIGINT NOT NULL
);

-- On a database made after 0016, the partition of the balls from before partitioning holds
-- nothing, yet its range (up to the first midnight after the migration) keeps every earlier day
-- from having a partition of its own, which a seeded world of past days needs. An empty one goes.
LOCK TABLE balls IN ACCESS EXCLUSIVE MODE;
DO $$
BEGIN
    IF to_regclass('balls_before_days') IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM balls_before_days) THEN
        ALTER TABLE balls DETACH PARTITION balls_before_days;
        DROP TABLE balls_before_days;
    END IF;
END $$;
