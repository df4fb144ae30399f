-- Invite codes, blocks, "ball about to expire" notices and the anti-abuse review queue.

-- One code per user, looked up by the code.
CREATE TABLE invite_codes (
    code          TEXT PRIMARY KEY,
    user_id       UUID NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX invite_codes_by_user ON invite_codes (user_id);

-- A block stops friend requests either way and ends the friendship.
CREATE TABLE blocks (
    user_id       UUID NOT NULL,
    blocked_id    UUID NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);

-- Balls already announced as about to expire (one ball.expiring event each).
CREATE TABLE expiry_notices (
    user_id      UUID NOT NULL,
    ball_id      UUID NOT NULL,
    noticed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, ball_id)
);

-- Suspicious patterns, recorded for an admin to review rather than silently dropped.
CREATE TABLE abuse_reports (
    report_id  UUID PRIMARY KEY,          -- UUIDv7: time-ordered
    user_id    UUID NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at_ms      BIGINT NOT NULL,
    reviewed_at_ms BIGINT
);
