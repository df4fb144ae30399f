-- Co-planting groups (family, couple, class, organisation): members, invitations, and the
-- lookup of a user's groups. Each member's share of the pot is a ledger account (kind pot,
-- owner the group, id the member); the pot's balance is their sum.

CREATE TABLE planting_groups (
    group_id      BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    created_by    BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Members stay listed after leaving (left_at_ms), so their share stays named.
CREATE TABLE group_members (
    group_id     BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    joined_at_ms INTEGER NOT NULL,
    left_at_ms   INTEGER,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;

CREATE TABLE user_groups (
    user_id  BLOB NOT NULL,
    group_id BLOB NOT NULL,
    PRIMARY KEY (user_id, group_id)
) WITHOUT ROWID;

CREATE TABLE group_invites (
    group_id   BLOB NOT NULL,
    user_id    BLOB NOT NULL,
    invited_by BLOB NOT NULL,
    at_ms      INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
