-- Forest digests: per user, the balls that still hold energy, in one short row the writer keeps
-- with every change to them, so that a forest home reads one row per friend instead of joining
-- every friend's balls to their balances (see crates/store/src/digest.rs for the layout: per
-- ball, in ripening order, its 16-byte id and four big-endian int8: grams, remaining, ripens,
-- expires). Distributed by user_id like the balls it summarises.

CREATE TABLE forest_digests (
    user_id UUID PRIMARY KEY,
    balls   BYTEA NOT NULL
);

INSERT INTO forest_digests (user_id, balls)
SELECT b.user_id,
       string_agg(uuid_send(b.ball_id) || int8send(b.grams) || int8send(bal.grams)
                  || int8send(b.ripens_at_ms) || int8send(b.expires_at_ms),
                  ''::bytea ORDER BY b.ripens_at_ms, b.ball_id)
FROM balls b
JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = 2 AND bal.account_id = b.ball_id
WHERE bal.grams > 0
GROUP BY b.user_id;
