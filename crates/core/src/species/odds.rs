//! Odds and the draw. Each category has a weight (rarer categories lighter); a draw picks a
//! category by weight among those with species, then a species of it uniformly. The draw is a
//! pure function of a 32-byte seed and the pool, so support can replay any logged draw.

use super::{Catalog, Category, SpeciesId};
use sha2::{Digest, Sha256};
use std::fmt;
use thiserror::Error;

/// The heaviest weight a category may have; keeps sums far from overflow.
pub const WEIGHT_MAX: u32 = 1_000_000;
/// Mixed into every draw's hash, so a seed means nothing to any other use of SHA-256.
const DRAW_DOMAIN: &[u8] = b"openforest species draw v1";

/// Relative weights per category, rarest first: each at least 1 and lighter than the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Odds {
    weights: [u32; 5],
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OddsError {
    #[error("the weight of {0:?} must be 1 to {WEIGHT_MAX}")]
    OutOfRange(Category),
    #[error("rarity follows the category: {rarer:?} must weigh less than {commoner:?}")]
    NotRarer { rarer: Category, commoner: Category },
}

impl Odds {
    /// Weights for CR, EN, VU, NT and LC, in that order.
    pub fn new(weights: [u32; 5]) -> Result<Odds, OddsError> {
        for (category, weight) in Category::ALL.into_iter().zip(weights) {
            if !(1..=WEIGHT_MAX).contains(&weight) {
                return Err(OddsError::OutOfRange(category));
            }
        }
        for pair in 0..4 {
            if weights[pair] >= weights[pair + 1] {
                return Err(OddsError::NotRarer {
                    rarer: Category::ALL[pair],
                    commoner: Category::ALL[pair + 1],
                });
            }
        }
        Ok(Odds { weights })
    }

    pub fn weight(&self, category: Category) -> u32 {
        self.weights[category as usize]
    }
}

/// One category in the pool: its weight and its species, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolEntry {
    pub category: Category,
    pub weight: u32,
    pub species: Vec<SpeciesId>,
}

/// What a draw picks from: the categories that have species, rarest first. Categories with
/// no species are left out, so the published odds are the real ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OddsTable {
    entries: Vec<PoolEntry>,
    total_weight: u64,
}

impl OddsTable {
    pub fn new(odds: &Odds, catalog: &Catalog) -> OddsTable {
        let entries: Vec<PoolEntry> = Category::ALL
            .into_iter()
            .map(|category| PoolEntry {
                category,
                weight: odds.weight(category),
                species: catalog
                    .species()
                    .filter(|species| species.category == category)
                    .map(|species| species.id.clone())
                    .collect(),
            })
            .filter(|entry| !entry.species.is_empty())
            .collect();
        let total_weight = entries.iter().map(|entry| u64::from(entry.weight)).sum();
        OddsTable {
            entries,
            total_weight,
        }
    }

    pub fn entries(&self) -> &[PoolEntry] {
        &self.entries
    }

    /// The chance that a draw gives a card of `category` (0 when it has no species).
    pub fn probability(&self, category: Category) -> f64 {
        self.entries
            .iter()
            .find(|entry| entry.category == category)
            .map_or(0.0, |entry| {
                f64::from(entry.weight) / self.total_weight.max(1) as f64
            })
    }

    /// The chance that a draw gives one particular card of `category`.
    pub fn card_probability(&self, category: Category) -> f64 {
        self.entries
            .iter()
            .find(|entry| entry.category == category)
            .map_or(0.0, |entry| {
                self.probability(category) / entry.species.len().max(1) as f64
            })
    }

    /// A digest of the pool (categories, weights, species): the same fingerprint means a seed
    /// draws the same card. Logged with each draw so a replay can tell if the pool changed.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for entry in &self.entries {
            hash.update(entry.category.code().as_bytes());
            hash.update(entry.weight.to_be_bytes());
            for id in &entry.species {
                hash.update(id.as_str().as_bytes());
                hash.update(b",");
            }
            hash.update(b";");
        }
        hex(&hash.finalize()[..16])
    }
}

/// The 32 bytes a draw is decided by.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DrawSeed(pub [u8; 32]);

impl DrawSeed {
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<DrawSeed> {
        Some(DrawSeed(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for DrawSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DrawSeed({})", self.hex())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` scaled from 0..2^64 onto 0..n (Lemire's multiply-shift; the bias is below 2^-40
/// for any pool this catalog can hold).
fn scale(value: u64, n: u64) -> u64 {
    ((u128::from(value) * u128::from(n)) >> 64) as u64
}

/// The card a seed draws from the pool; `None` only for an empty pool. SHA-256 of the seed
/// gives two 64-bit numbers: the first picks the category by weight, the second the species.
pub fn draw<'a>(seed: &DrawSeed, table: &'a OddsTable) -> Option<&'a SpeciesId> {
    let digest = Sha256::new()
        .chain_update(DRAW_DOMAIN)
        .chain_update(seed.0)
        .finalize();
    let mut first = [0u8; 8];
    let mut second = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    second.copy_from_slice(&digest[8..16]);
    let mut point = scale(u64::from_be_bytes(first), table.total_weight);
    for entry in &table.entries {
        let weight = u64::from(entry.weight);
        if point < weight {
            let index = scale(u64::from_be_bytes(second), entry.species.len() as u64);
            return entry.species.get(usize::try_from(index).ok()?);
        }
        point -= weight;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::species::Catalog;
    use std::collections::HashMap;

    const PROPS: [&str; 3] = ["shield", "double_collect", "steal_multiplier"];

    fn table() -> OddsTable {
        let catalog = Catalog::load(true, &[], &PROPS).unwrap();
        OddsTable::new(&Odds::new([2, 8, 15, 25, 50]).unwrap(), &catalog)
    }

    /// The i-th seed of a fixed sequence: the test is the same on every run.
    fn seed(i: u64) -> DrawSeed {
        let digest = Sha256::new()
            .chain_update(b"openforest odds test")
            .chain_update(i.to_be_bytes())
            .finalize();
        DrawSeed(digest.into())
    }

    #[test]
    fn draws_follow_the_published_odds_chi_square_with_a_fixed_seed() {
        let table = table();
        let draws = 100_000u64;
        let category_of: HashMap<&SpeciesId, Category> = table
            .entries()
            .iter()
            .flat_map(|entry| entry.species.iter().map(move |id| (id, entry.category)))
            .collect();
        let mut by_category: HashMap<Category, u64> = HashMap::new();
        let mut by_species: HashMap<&SpeciesId, u64> = HashMap::new();
        for i in 0..draws {
            let id = draw(&seed(i), &table).unwrap();
            *by_category.entry(category_of[id]).or_default() += 1;
            *by_species.entry(id).or_default() += 1;
        }
        // Goodness of fit over the five categories: 4 degrees of freedom, critical value
        // 18.467 at p = 0.001.
        let chi_square: f64 = table
            .entries()
            .iter()
            .map(|entry| {
                let expected = table.probability(entry.category) * draws as f64;
                let observed = by_category.get(&entry.category).copied().unwrap_or(0) as f64;
                (observed - expected).powi(2) / expected
            })
            .sum();
        assert!(
            chi_square < 18.467,
            "chi-square {chi_square:.2} over categories"
        );
        // Within a category every species is equally likely: chi-square over the cards of the
        // most common category against its uniform share.
        let lc = table
            .entries()
            .iter()
            .find(|entry| entry.category == Category::LC)
            .unwrap();
        let in_lc: u64 = lc
            .species
            .iter()
            .map(|id| by_species.get(id).copied().unwrap_or(0))
            .sum();
        let expected = in_lc as f64 / lc.species.len() as f64;
        let chi_square: f64 = lc
            .species
            .iter()
            .map(|id| {
                (by_species.get(id).copied().unwrap_or(0) as f64 - expected).powi(2) / expected
            })
            .sum();
        // Degrees of freedom: cards − 1; p = 0.001 critical value by the Wilson–Hilferty
        // approximation.
        let df = (lc.species.len() - 1) as f64;
        let critical = df * (1.0 - 2.0 / (9.0 * df) + 3.09 * (2.0 / (9.0 * df)).sqrt()).powi(3);
        assert!(
            chi_square < critical,
            "chi-square {chi_square:.2} over LC cards, critical {critical:.2}"
        );
    }

    #[test]
    fn a_critically_endangered_card_is_the_rarest() {
        let table = table();
        let cr = table.probability(Category::CR);
        for category in &Category::ALL[1..] {
            assert!(cr < table.probability(*category), "CR vs {category:?}");
        }
        let rarest_card = Category::ALL
            .into_iter()
            .map(|category| (category, table.card_probability(category)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert_eq!(rarest_card.0, Category::CR);
        let sum: f64 = Category::ALL
            .into_iter()
            .map(|c| table.probability(c))
            .sum();
        assert!((sum - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_same_seed_draws_the_same_card() {
        let table = table();
        for i in 0..100 {
            assert_eq!(draw(&seed(i), &table), draw(&seed(i), &table.clone()));
        }
        let distinct: std::collections::HashSet<_> =
            (0..100).map(|i| draw(&seed(i), &table)).collect();
        assert!(distinct.len() > 30, "different seeds draw different cards");
    }

    #[test]
    fn odds_must_make_rarer_categories_lighter() {
        assert_eq!(
            Odds::new([10, 8, 15, 25, 50]),
            Err(OddsError::NotRarer {
                rarer: Category::CR,
                commoner: Category::EN
            })
        );
        assert_eq!(
            Odds::new([0, 8, 15, 25, 50]),
            Err(OddsError::OutOfRange(Category::CR))
        );
    }

    #[test]
    fn a_category_without_species_is_left_out_of_the_odds() {
        let catalog = Catalog::load(
            false,
            &[(
                "one.toml".into(),
                "[[species]]\nid = \"kea\"\ncommon_name = \"Kea\"\nscientific_name = \"Nestor notabilis\"\ncategory = \"EN\"\nhabitat = \"mountain\"\nregion = \"oceania\"\nrange = \"New Zealand\"\ngroup = \"bird\"\nfact = \"An alpine parrot.\"\n".into(),
            )],
            &PROPS,
        )
        .unwrap();
        let table = OddsTable::new(&Odds::new([2, 8, 15, 25, 50]).unwrap(), &catalog);
        assert_eq!(table.probability(Category::EN), 1.0);
        assert_eq!(table.probability(Category::CR), 0.0);
        assert_eq!(draw(&seed(1), &table).unwrap().as_str(), "kea");
    }
}
