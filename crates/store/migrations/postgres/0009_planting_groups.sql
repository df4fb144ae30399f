-- Co-planting groups (family, couple, class, organisation): members, invitations, and the
-- lookup of a user's groups. Each member's share of the pot is a ledger account (kind pot,
-- owner the group, id the member); the pot's balance is their sum.

CREATE TABLE planting_groups (
    group_id      UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    created_by    UUID NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Members stay listed after leaving (left_at_ms), so their share stays named.
CREATE TABLE group_members (
    group_id     UUID NOT NULL,
    user_id      UUID NOT NULL,
    joined_at_ms BIGINT NOT NULL,
    left_at_ms   BIGINT,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE user_groups (
    user_id  UUID NOT NULL,
    group_id UUID NOT NULL,
    PRIMARY KEY (user_id, group_id)
);

CREATE TABLE group_invites (
    group_id   UUID NOT NULL,
    user_id    UUID NOT NULL,
    invited_by UUID NOT NULL,
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
