-- Friends and the harvest: friendships (stored in both directions, each keyed by its user),
-- pending friend requests, steals (once per thief per ball) and each user's feed.

CREATE TABLE friendships (
    user_id       UUID NOT NULL,
    friend_id     UUID NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);

-- A request waits for its addressee: keyed by who must answer it.
CREATE TABLE friend_requests (
    to_user_id    UUID NOT NULL,
    from_user_id  UUID NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (to_user_id, from_user_id)
);

-- Who took how much from which ball: written by the writer with the steal's journal entry.
-- `take` is 1, or 2 for a second take with a double-collect card.
CREATE TABLE steals (
    owner_id  UUID NOT NULL,
    ball_id   UUID NOT NULL,
    thief_id  UUID NOT NULL,
    take      SMALLINT NOT NULL,
    grams     BIGINT NOT NULL CHECK (grams > 0),
    at_ms     BIGINT NOT NULL,
    PRIMARY KEY (owner_id, ball_id, thief_id, take)
);

-- What happened to a user, newest first ("ana took 12 g from you").
CREATE TABLE feed (
    user_id  UUID NOT NULL,
    item_id  UUID NOT NULL,               -- UUIDv7: time-ordered
    kind     TEXT NOT NULL,
    actor_id UUID,
    ball_id  UUID,
    grams    BIGINT NOT NULL,
    at_ms    BIGINT NOT NULL,
    PRIMARY KEY (user_id, item_id)
);

-- Forest home reads a user's live balls: by owner, newest expiry last.
CREATE INDEX balls_by_owner_expiry ON balls (user_id, expires_at_ms);
