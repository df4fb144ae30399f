-- Friends and the harvest: friendships (stored in both directions, each keyed by its user),
-- pending friend requests, steals (once per thief per ball) and each user's feed.

CREATE TABLE friendships (
    user_id       BLOB NOT NULL,
    friend_id     BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, friend_id)
) WITHOUT ROWID;

-- A request waits for its addressee: keyed by who must answer it.
CREATE TABLE friend_requests (
    to_user_id    BLOB NOT NULL,
    from_user_id  BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (to_user_id, from_user_id)
) WITHOUT ROWID;

-- Who took how much from which ball: written by the writer with the steal's journal entry.
-- `take` is 1, or 2 for a second take with a double-collect card.
CREATE TABLE steals (
    owner_id  BLOB NOT NULL,
    ball_id   BLOB NOT NULL,
    thief_id  BLOB NOT NULL,
    take      INTEGER NOT NULL,
    grams     INTEGER NOT NULL CHECK (grams > 0),
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (owner_id, ball_id, thief_id, take)
) WITHOUT ROWID;

-- What happened to a user, newest first ("ana took 12 g from you").
CREATE TABLE feed (
    user_id  BLOB NOT NULL,
    item_id  BLOB NOT NULL,               -- UUIDv7: time-ordered
    kind     TEXT NOT NULL,
    actor_id BLOB,
    ball_id  BLOB,
    grams    INTEGER NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (user_id, item_id)
) WITHOUT ROWID;

-- Forest home reads a user's live balls: by owner, newest expiry last.
CREATE INDEX balls_by_owner_expiry ON balls (user_id, expires_at_ms);
