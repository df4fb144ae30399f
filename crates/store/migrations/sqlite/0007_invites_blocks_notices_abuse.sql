-- Invite codes, blocks, "ball about to expire" notices and the anti-abuse review queue.

-- One code per user, looked up by the code.
CREATE TABLE invite_codes (
    code          TEXT PRIMARY KEY,
    user_id       BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX invite_codes_by_user ON invite_codes (user_id);

-- A block stops friend requests either way and ends the friendship.
CREATE TABLE blocks (
    user_id       BLOB NOT NULL,
    blocked_id    BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
) WITHOUT ROWID;

-- Balls already announced as about to expire (one ball.expiring event each).
CREATE TABLE expiry_notices (
    user_id      BLOB NOT NULL,
    ball_id      BLOB NOT NULL,
    noticed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, ball_id)
) WITHOUT ROWID;

-- Suspicious patterns, recorded for an admin to review rather than silently dropped.
CREATE TABLE abuse_reports (
    report_id  BLOB PRIMARY KEY,          -- UUIDv7: time-ordered
    user_id    BLOB NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    reviewed_at_ms INTEGER
) WITHOUT ROWID;
