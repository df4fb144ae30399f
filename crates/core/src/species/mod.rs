//! Amazing Species: the catalog of threatened species (IUCN Red List category, habitat,
//! region, a short fact), the sets an album groups them in, the odds of each category and the
//! draw that turns a logged seed into a card. Pure: data files come in as text, seeds as bytes.

mod catalog;
mod file;
mod odds;

pub use catalog::{Catalog, CatalogError};
pub use odds::{DrawSeed, Odds, OddsError, OddsTable, PoolEntry, draw};

use serde::{Deserialize, Serialize};
use std::fmt;

/// One draw as logged: who, why (the reason key makes it happen once), the seed that decided
/// it, the card it gave and the fingerprint of the pool it was drawn from. A planting's draw
/// rides with its `Plant` command, and the writer logs it in the pledge's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeciesDraw {
    pub draw_id: uuid::Uuid,
    pub user_id: crate::UserId,
    /// `daily:<local day>`, `planting:<pledge id>` or `task:<task>:<period>`.
    pub reason: String,
    pub seed: [u8; 32],
    pub species_id: String,
    pub pool: String,
    pub at: crate::Timestamp,
}

/// The longest id of a species or a set.
pub const ID_CHARS_MAX: usize = 60;

/// An IUCN Red List category. Only the assessed, extant ones a card can show; "rarity follows
/// the category": a critically endangered card is the rarest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Category {
    /// Critically Endangered.
    CR,
    /// Endangered.
    EN,
    /// Vulnerable.
    VU,
    /// Near Threatened.
    NT,
    /// Least Concern.
    LC,
}

impl Category {
    /// Rarest first.
    pub const ALL: [Category; 5] = [
        Category::CR,
        Category::EN,
        Category::VU,
        Category::NT,
        Category::LC,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::CR => "CR",
            Category::EN => "EN",
            Category::VU => "VU",
            Category::NT => "NT",
            Category::LC => "LC",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Category::CR => "Critically Endangered",
            Category::EN => "Endangered",
            Category::VU => "Vulnerable",
            Category::NT => "Near Threatened",
            Category::LC => "Least Concern",
        }
    }
}

/// Declares a closed vocabulary of snake_case words read from data files.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal, $title:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The word used in data files, ids and the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)*
                }
            }

            /// A name for people.
            pub fn title(self) -> &'static str {
                match self {
                    $($name::$variant => $title,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Where a species lives; a card's colour and one family of sets.
    Habitat {
        Desert => "desert", "Desert";
        Grassland => "grassland", "Grassland";
        Forest => "forest", "Forest";
        Mountain => "mountain", "Mountain";
        Wetland => "wetland", "Wetland";
        Freshwater => "freshwater", "Rivers and lakes";
        Ocean => "ocean", "Ocean";
        Polar => "polar", "Polar";
    }
);

vocabulary!(
    /// The part of the world a species belongs to; the other family of sets.
    Region {
        Africa => "africa", "Africa";
        Asia => "asia", "Asia";
        Europe => "europe", "Europe";
        NorthAmerica => "north_america", "North America";
        SouthAmerica => "south_america", "Central and South America";
        Oceania => "oceania", "Oceania";
        Arctic => "arctic", "Arctic";
        Antarctica => "antarctica", "Antarctica and the Southern Ocean";
        Oceans => "oceans", "The open oceans";
    }
);

vocabulary!(
    /// What kind of living thing: the silhouette on its card.
    Group {
        Mammal => "mammal", "Mammal";
        AquaticMammal => "aquatic_mammal", "Aquatic mammal";
        Bird => "bird", "Bird";
        Reptile => "reptile", "Reptile";
        Amphibian => "amphibian", "Amphibian";
        Fish => "fish", "Fish";
        Insect => "insect", "Insect";
        Coral => "coral", "Coral";
        Tree => "tree", "Tree";
        Plant => "plant", "Plant";
    }
);

/// A species' or set's id: 1 to 60 characters of `a-z`, `0-9` and `-`, starting with a
/// letter (`whale-shark`). Stable: albums store it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SpeciesId(String);

impl SpeciesId {
    pub fn parse(text: &str) -> Result<SpeciesId, String> {
        let starts_with_letter = text.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        if text.len() > ID_CHARS_MAX || !starts_with_letter || !text.bytes().all(allowed) {
            return Err(format!(
                "an id is 1 to {ID_CHARS_MAX} characters of a-z, 0-9 and '-', starting with a letter; got {text:?}"
            ));
        }
        Ok(SpeciesId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SpeciesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One species, as a card shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Species {
    pub id: SpeciesId,
    pub common_name: String,
    pub scientific_name: String,
    /// The Red List category as bundled; the Red List itself has the current assessment.
    pub category: Category,
    pub habitat: Habitat,
    pub region: Region,
    /// Where exactly, in words ("Gobi Desert, Mongolia and China").
    pub range: String,
    pub group: Group,
    /// One short fact, written for the project.
    pub fact: String,
}

/// Which family a set belongs to: made from the catalog (by habitat, by region) or defined
/// by the operator in a data file (themed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    Habitat,
    Region,
    Themed,
}

/// What completing a set gives, once: props of a kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetReward {
    pub prop: String,
    pub count: u32,
}

/// A set of cards to complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpeciesSet {
    pub id: SpeciesId,
    pub kind: SetKind,
    pub name: String,
    pub description: String,
    /// Its species, in the order the album shows them.
    pub species: Vec<SpeciesId>,
    /// `None`: the operator's default reward.
    pub reward: Option<SetReward>,
}

impl SpeciesSet {
    /// How many of the set's species `owns` says the user has at least one card of.
    pub fn owned(&self, owns: impl Fn(&SpeciesId) -> bool) -> usize {
        self.species.iter().filter(|id| owns(id)).count()
    }
}
