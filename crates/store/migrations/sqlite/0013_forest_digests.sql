-- Forest digests: per user, the balls that still hold energy, in one short row the writer keeps
-- with every change to them, so that a forest home reads one row per friend instead of joining
-- every friend's balls to their balances (see crates/store/src/digest.rs for the layout: per
-- ball, in ripening order, its 16-byte id and four big-endian i64: grams, remaining, ripens,
-- expires).

CREATE TABLE forest_digests (
    user_id BLOB PRIMARY KEY,
    balls   BLOB NOT NULL
) WITHOUT ROWID;

INSERT INTO forest_digests (user_id, balls)
SELECT b.user_id,
       unhex(group_concat(
           hex(b.ball_id) || printf('%016X%016X%016X%016X', b.grams, bal.grams,
                                    b.ripens_at_ms, b.expires_at_ms),
           '' ORDER BY b.ripens_at_ms, b.ball_id))
FROM balls b
JOIN balances bal ON bal.account_id = b.ball_id AND bal.kind = 2 AND bal.owner_id = b.user_id
WHERE bal.grams > 0
GROUP BY b.user_id;
