-- Props: items in a user's inventory (each expires unused), the effects in force once used,
-- and the task rewards already given (so a task pays once).

CREATE TABLE prop_items (
    user_id       BLOB NOT NULL,
    item_id       BLOB NOT NULL,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,            -- admin grant, task, gift
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    PRIMARY KEY (user_id, item_id)
) WITHOUT ROWID;

CREATE TABLE prop_effects (
    user_id             BLOB NOT NULL,
    kind                TEXT NOT NULL,
    active_from_ms      INTEGER NOT NULL,
    active_until_ms     INTEGER NOT NULL,
    multiplier_permille INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
) WITHOUT ROWID;

CREATE TABLE task_rewards (
    user_id       BLOB NOT NULL,
    task          TEXT NOT NULL,
    period        TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, task, period)
) WITHOUT ROWID;
