-- Write locality for the single SQLite writer. Every commit writes each page it dirtied to the
-- WAL, so rows a batch creates or changes should share pages rather than land one per page:
-- - balances are keyed account id first: a ball's id is a UUIDv7, so new ball balances append
--   at the end of the table (wallets, whose account id is nil, sit together by owner);
-- - usage counters are keyed period first: today's and this month's rows are neighbours.
-- Every query on them names the whole key, so the order changes no plan. PostgreSQL keeps its
-- user-first keys (heap tables append anyway, and Citus wants the distribution column).

CREATE TABLE balances_by_account (
    owner_id   BLOB NOT NULL,
    kind       INTEGER NOT NULL,
    account_id BLOB NOT NULL,
    grams      INTEGER NOT NULL CHECK (grams >= 0),
    PRIMARY KEY (account_id, kind, owner_id)
) WITHOUT ROWID;
INSERT INTO balances_by_account SELECT owner_id, kind, account_id, grams FROM balances;
DROP TABLE balances;
ALTER TABLE balances_by_account RENAME TO balances;

CREATE TABLE usage_by_period (
    user_id        BLOB NOT NULL,
    action         TEXT NOT NULL,
    period         TEXT NOT NULL,
    actions        INTEGER NOT NULL,
    quantity_milli INTEGER NOT NULL,
    grams          INTEGER NOT NULL,
    PRIMARY KEY (period, action, user_id)
) WITHOUT ROWID;
INSERT INTO usage_by_period SELECT user_id, action, period, actions, quantity_milli, grams FROM usage;
DROP TABLE usage;
ALTER TABLE usage_by_period RENAME TO usage;
