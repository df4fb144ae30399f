//! Identifiers. All are UUIDs made by the application (UUIDv7 where time order helps), never
//! database sequences, so tables can be distributed by `user_id` later (see ARCHITECTURE.md).

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A user of the operator's app.
    UserId
);
uuid_id!(
    /// An energy ball in a user's forest.
    BallId
);
uuid_id!(
    /// A co-planting group and its pot.
    GroupId
);
uuid_id!(
    /// A pledge of energy to a tree or to land.
    PledgeId
);
uuid_id!(
    /// A catalog item: a tree species or a conservation land offer.
    CatalogItemId
);
uuid_id!(
    /// An NGO that plants and protects.
    NgoId
);
uuid_id!(
    /// A planting or conservation site of an NGO.
    SiteId
);
uuid_id!(
    /// An order to an NGO: the pledges of one item and season.
    OrderId
);
uuid_id!(
    /// A planting batch an NGO recorded with its evidence.
    BatchId
);
uuid_id!(
    /// A partner that reports low-carbon actions.
    PartnerId
);
uuid_id!(
    /// One journal entry.
    EntryId
);

impl PartnerId {
    /// The operator itself, as the issuer of audited admin grants.
    pub const OPERATOR: PartnerId = PartnerId(Uuid::nil());
}
