-- Props: items in a user's inventory (each expires unused), the effects in force once used,
-- and the task rewards already given (so a task pays once).

CREATE TABLE prop_items (
    user_id       UUID NOT NULL,
    item_id       UUID NOT NULL,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,            -- admin grant, task, gift
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    PRIMARY KEY (user_id, item_id)
);

CREATE TABLE prop_effects (
    user_id             UUID NOT NULL,
    kind                TEXT NOT NULL,
    active_from_ms      BIGINT NOT NULL,
    active_until_ms     BIGINT NOT NULL,
    multiplier_permille BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE task_rewards (
    user_id       UUID NOT NULL,
    task          TEXT NOT NULL,
    period        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, task, period)
);
