-- Balls are partitioned by ripening day. A ball's id is a UUIDv7 stamped with the instant it
-- ripens (`openforest_store::new_ball_id`), so the balls of one UTC day are one range of ids,
-- the primary key (user_id, ball_id) holds the partition key, and a read by (user_id, ball_id)
-- touches one partition. The store creates each day's partition ahead of time
-- (crates/store/src/postgres/partitions.rs). The balls that were here before stay together in
-- one partition below the first day, and a default partition takes a ball whose day has no
-- partition yet.
ALTER TABLE balls RENAME TO balls_before_days;
ALTER INDEX balls_pkey RENAME TO balls_before_days_pkey;
ALTER INDEX balls_expires_at RENAME TO balls_before_days_expires_at;
ALTER INDEX balls_by_owner_expiry RENAME TO balls_before_days_by_owner_expiry;

CREATE TABLE balls (
    user_id             UUID NOT NULL,
    ball_id             UUID NOT NULL,
    -- Named as on the earlier table, which a partition's check must match.
    grams               BIGINT NOT NULL CONSTRAINT balls_grams_check CHECK (grams > 0),
    ripens_at_ms        BIGINT NOT NULL,
    expires_at_ms       BIGINT NOT NULL,
    partner_id          UUID NOT NULL,
    action              TEXT NOT NULL,
    methodology         TEXT NOT NULL,
    methodology_version BIGINT NOT NULL,
    created_at_ms       BIGINT NOT NULL,
    PRIMARY KEY (user_id, ball_id)
) PARTITION BY RANGE (ball_id);

-- The expiry job walks due balls in (expires_at_ms, user_id, ball_id) order.
CREATE INDEX balls_expires_at ON balls (expires_at_ms, user_id, ball_id);
-- Forest home reads a user's live balls: by owner, newest expiry last.
CREATE INDEX balls_by_owner_expiry ON balls (user_id, expires_at_ms);

-- The earlier balls' ids were stamped when they were made, all before the next UTC midnight
-- after the newest of them: that midnight is where the first day partition starts.
DO $$
DECLARE
    newest_ms BIGINT;
    first_day_ms BIGINT;
    first_day UUID;
BEGIN
    SELECT max(('x' || substr(replace(ball_id::text, '-', ''), 1, 12))::bit(48)::bigint)
      INTO newest_ms FROM balls_before_days;
    first_day_ms := (extract(epoch FROM date_trunc('day', now() AT TIME ZONE 'UTC')) * 1000)::bigint
                    + 86400000;
    IF newest_ms IS NOT NULL AND newest_ms >= first_day_ms THEN
        first_day_ms := (newest_ms / 86400000 + 1) * 86400000;
    END IF;
    first_day := (substr(lpad(to_hex(first_day_ms), 12, '0'), 1, 8) || '-'
                  || substr(lpad(to_hex(first_day_ms), 12, '0'), 9, 4)
                  || '-0000-0000-000000000000')::uuid;
    EXECUTE format(
        'ALTER TABLE balls ATTACH PARTITION balls_before_days FOR VALUES FROM (MINVALUE) TO (%L)',
        first_day);
END $$;

CREATE TABLE balls_default PARTITION OF balls DEFAULT;
