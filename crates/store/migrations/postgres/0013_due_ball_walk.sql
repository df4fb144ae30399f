-- The expiry job walks due balls in (expires_at_ms, user_id, ball_id) order, page after page,
-- resuming after the last row it saw: the index carries the whole walking key, so a page costs
-- the same however many expired balls lie before it.
DROP INDEX balls_expires_at;
CREATE INDEX balls_expires_at ON balls (expires_at_ms, user_id, ball_id);
