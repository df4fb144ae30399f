//! The catalog: the bundled data files, then the operator's, applied in order (a species or a
//! themed set with an id already read replaces it), checked as a whole, with the sets made
//! from it (one per habitat, one per region) after the themed ones.

use super::file::{DataFile, SetInFile};
use super::{Habitat, Region, SetKind, Species, SpeciesId, SpeciesSet};
use std::collections::BTreeMap;
use thiserror::Error;

/// The data files built into the binary: name and text.
pub const BUNDLED_FILES: [(&str, &str); 2] = [
    (
        "bundled/species.toml",
        include_str!("../../data/species/species.toml"),
    ),
    (
        "bundled/themed-sets.toml",
        include_str!("../../data/species/themed-sets.toml"),
    ),
];

/// The most species and themed sets one catalog may hold.
pub const SPECIES_MAX: usize = 10_000;
pub const THEMED_SETS_MAX: usize = 1_000;

/// A data file that cannot be used: which file, the 1-based line, the field, and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{file}, line {line}{}: {reason}", field.as_ref().map(|field| format!(", field `{field}`")).unwrap_or_default())]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub field: Option<String>,
    pub reason: String,
}

/// The species and sets cards are drawn from, checked.
#[derive(Clone, Debug)]
pub struct Catalog {
    species: BTreeMap<SpeciesId, Species>,
    sets: Vec<SpeciesSet>,
}

/// A catalog being read file by file; `finish` checks it as a whole.
#[derive(Default)]
pub struct CatalogBuilder {
    species: BTreeMap<SpeciesId, Species>,
    themed: Vec<SetInFile>,
    last_file: String,
}

impl CatalogBuilder {
    /// Reads one data file: its species and sets are added, or replace those of the same id
    /// read before.
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<&mut Self, CatalogError> {
        let parsed = DataFile { name, text }.parse()?;
        for species in parsed.species {
            self.species.insert(species.id.clone(), species);
        }
        for set in parsed.sets {
            match self
                .themed
                .iter_mut()
                .find(|known| known.set.id == set.set.id)
            {
                Some(known) => *known = set,
                None => self.themed.push(set),
            }
        }
        self.last_file = name.to_string();
        let too_many = |what: &str, max: usize| CatalogError {
            file: name.to_string(),
            line: 1,
            field: None,
            reason: format!("the catalog may hold at most {max} {what}"),
        };
        if self.species.len() > SPECIES_MAX {
            return Err(too_many("species", SPECIES_MAX));
        }
        if self.themed.len() > THEMED_SETS_MAX {
            return Err(too_many("themed sets", THEMED_SETS_MAX));
        }
        Ok(self)
    }

    /// Checks what no single file can: every set's species exist, every reward is a prop in
    /// `reward_props`, and there is at least one species.
    pub fn finish(self, reward_props: &[&str]) -> Result<Catalog, CatalogError> {
        if self.species.is_empty() {
            return Err(CatalogError {
                file: if self.last_file.is_empty() {
                    "(no data files)".into()
                } else {
                    self.last_file
                },
                line: 1,
                field: Some("species".into()),
                reason: "the catalog has no species: keep the bundled ones or add a [[species]]"
                    .into(),
            });
        }
        for themed in &self.themed {
            for (member, line) in themed.set.species.iter().zip(&themed.member_lines) {
                if !self.species.contains_key(member) {
                    return Err(CatalogError {
                        file: themed.file.clone(),
                        line: *line,
                        field: Some("species".into()),
                        reason: format!(
                            "set {} lists {member}, which no data file defines",
                            themed.set.id
                        ),
                    });
                }
            }
            if let Some(reward) = &themed.set.reward
                && !reward_props.contains(&reward.prop.as_str())
            {
                return Err(CatalogError {
                    file: themed.file.clone(),
                    line: themed.reward_line,
                    field: Some("reward.prop".into()),
                    reason: format!(
                        "{:?} is not a prop; a reward is one of {}",
                        reward.prop,
                        reward_props.join(", ")
                    ),
                });
            }
        }
        let mut sets: Vec<SpeciesSet> = self.themed.into_iter().map(|themed| themed.set).collect();
        sets.extend(generated_sets(&self.species));
        Ok(Catalog {
            species: self.species,
            sets,
        })
    }
}

/// One set per habitat and one per region that has species, in vocabulary order.
fn generated_sets(species: &BTreeMap<SpeciesId, Species>) -> Vec<SpeciesSet> {
    let mut sets = Vec::new();
    for habitat in Habitat::ALL {
        let members = members(species, |s| s.habitat == *habitat);
        if !members.is_empty() {
            sets.push(generated(
                SetKind::Habitat,
                "habitat",
                habitat.as_str(),
                habitat.title(),
                members,
            ));
        }
    }
    for region in Region::ALL {
        let members = members(species, |s| s.region == *region);
        if !members.is_empty() {
            sets.push(generated(
                SetKind::Region,
                "region",
                region.as_str(),
                region.title(),
                members,
            ));
        }
    }
    sets
}

fn members(
    species: &BTreeMap<SpeciesId, Species>,
    keep: impl Fn(&Species) -> bool,
) -> Vec<SpeciesId> {
    species
        .values()
        .filter(|s| keep(s))
        .map(|s| s.id.clone())
        .collect()
}

fn generated(
    kind: SetKind,
    prefix: &str,
    word: &str,
    title: &str,
    species: Vec<SpeciesId>,
) -> SpeciesSet {
    // Vocabulary words are snake_case; ids use '-'. Both are checked ASCII, so this parses.
    let id = SpeciesId::parse(&format!("{prefix}-{}", word.replace('_', "-")))
        .unwrap_or_else(|_| SpeciesId(format!("{prefix}-set")));
    SpeciesSet {
        id,
        kind,
        name: title.to_string(),
        description: format!("Every {} species in the catalog", title.to_lowercase()),
        species,
        reward: None,
    }
}

impl Catalog {
    /// Reads the bundled files (unless `bundled` is false) and then `files` in order.
    pub fn load(
        bundled: bool,
        files: &[(String, String)],
        reward_props: &[&str],
    ) -> Result<Catalog, CatalogError> {
        let mut builder = CatalogBuilder::default();
        if bundled {
            for (name, text) in BUNDLED_FILES {
                builder.add_file(name, text)?;
            }
        }
        for (name, text) in files {
            builder.add_file(name, text)?;
        }
        builder.finish(reward_props)
    }

    /// Every species, by id.
    pub fn species(&self) -> impl Iterator<Item = &Species> {
        self.species.values()
    }

    pub fn len(&self) -> usize {
        self.species.len()
    }

    pub fn is_empty(&self) -> bool {
        self.species.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Species> {
        let id = SpeciesId::parse(id).ok()?;
        self.species.get(&id)
    }

    /// Themed sets in the order the files define them, then one per habitat and per region.
    pub fn sets(&self) -> &[SpeciesSet] {
        &self.sets
    }

    pub fn set(&self, id: &str) -> Option<&SpeciesSet> {
        self.sets.iter().find(|set| set.id.as_str() == id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::species::Category;

    const PROPS: [&str; 3] = ["shield", "double_collect", "steal_multiplier"];

    fn load(extra: &str) -> Result<Catalog, CatalogError> {
        Catalog::load(true, &[("ops/extra.toml".into(), extra.into())], &PROPS)
    }

    #[test]
    fn the_bundled_catalog_has_at_least_100_species_in_every_category_and_an_ocean_set() {
        let catalog = Catalog::load(true, &[], &PROPS).unwrap();
        assert!(catalog.len() >= 100, "{} species", catalog.len());
        for category in Category::ALL {
            assert!(
                catalog.species().any(|s| s.category == category),
                "no {category:?}"
            );
        }
        for habitat in Habitat::ALL {
            assert!(
                catalog.species().any(|s| s.habitat == *habitat),
                "no {habitat}"
            );
        }
        let ocean = catalog.set("ocean-buddy").unwrap();
        assert_eq!(ocean.kind, SetKind::Themed);
        assert!(ocean.species.iter().any(|id| id.as_str() == "whale-shark"));
        assert!(catalog.set("habitat-desert").is_some());
        assert!(catalog.set("region-north-america").is_some());
    }

    #[test]
    fn every_bundled_species_has_a_distinct_scientific_name() {
        let catalog = Catalog::load(true, &[], &PROPS).unwrap();
        let mut names: Vec<&str> = catalog
            .species()
            .map(|s| s.scientific_name.as_str())
            .collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn an_operator_file_adds_and_replaces_species_and_sets() {
        let catalog = load(
            r#"
[[species]]
id = "whale-shark"
common_name = "Whale shark (Java)"
scientific_name = "Rhincodon typus"
category = "EN"
habitat = "ocean"
region = "oceans"
range = "Off the north coast of Java"
group = "fish"
fact = "Our own fact."

[[species]]
id = "javan-hawk-eagle"
common_name = "Javan hawk-eagle"
scientific_name = "Nisaetus bartelsi"
category = "EN"
habitat = "forest"
region = "asia"
range = "Java, Indonesia"
group = "bird"
fact = "Indonesia's national bird."

[[set]]
id = "ocean-buddy"
name = "Java sea friends"
species = ["whale-shark", "javan-hawk-eagle"]
reward = { prop = "shield", count = 2 }
"#,
        )
        .unwrap();
        assert_eq!(
            catalog.get("whale-shark").unwrap().common_name,
            "Whale shark (Java)"
        );
        assert!(catalog.get("javan-hawk-eagle").is_some());
        let set = catalog.set("ocean-buddy").unwrap();
        assert_eq!(set.name, "Java sea friends");
        assert_eq!(set.species.len(), 2);
        assert_eq!(set.reward.as_ref().unwrap().count, 2);
    }

    fn error_of(extra: &str) -> CatalogError {
        load(extra).unwrap_err()
    }

    const ONE: &str = r#"[[species]]
id = "kea"
common_name = "Kea"
scientific_name = "Nestor notabilis"
category = "EN"
habitat = "mountain"
region = "oceania"
range = "South Island, New Zealand"
group = "bird"
fact = "The only alpine parrot."
"#;

    #[test]
    fn an_unknown_category_names_the_file_line_and_field() {
        let error = error_of(&ONE.replace("\"EN\"", "\"XX\""));
        assert_eq!(error.file, "ops/extra.toml");
        assert_eq!(error.line, 5);
        assert_eq!(error.field.as_deref(), Some("category"));
        assert!(error.reason.contains("unknown variant"), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("ops/extra.toml, line 5, field `category`")
        );
    }

    #[test]
    fn a_duplicate_id_in_one_file_is_refused_at_its_second_definition() {
        let error = error_of(&format!("{ONE}\n{ONE}"));
        assert_eq!((error.line, error.field.as_deref()), (13, Some("id")));
        assert!(error.reason.contains("defined twice"), "{error}");
    }

    #[test]
    fn a_set_listing_an_unknown_species_is_refused_at_that_line() {
        let error = error_of(
            "[[set]]\nid = \"mine\"\nname = \"Mine\"\nspecies = [\n  \"whale-shark\",\n  \"unicorn\",\n]\n",
        );
        assert_eq!((error.line, error.field.as_deref()), (6, Some("species")));
        assert!(error.reason.contains("unicorn"), "{error}");
    }

    #[test]
    fn empty_names_unknown_fields_bad_ids_and_rewards_are_refused() {
        let empty = error_of(&ONE.replace("\"Kea\"", "\"  \""));
        assert_eq!(
            (empty.line, empty.field.as_deref()),
            (3, Some("common_name"))
        );
        let unknown = error_of(&format!("{ONE}colour = \"red\"\n"));
        assert!(unknown.reason.contains("unknown field"), "{unknown}");
        let bad_id = error_of(&ONE.replace("\"kea\"", "\"Kea Parrot\""));
        assert_eq!(bad_id.field.as_deref(), Some("id"));
        let reserved = error_of(&ONE.replace("\"kea\"", "\"odds\""));
        assert!(reserved.reason.contains("reserved"), "{reserved}");
        let genus_only = error_of(&ONE.replace("Nestor notabilis", "Nestor"));
        assert_eq!(genus_only.field.as_deref(), Some("scientific_name"));
        let reward = error_of(
            "[[set]]\nid = \"mine\"\nname = \"Mine\"\nspecies = [\"whale-shark\"]\nreward = { prop = \"tiara\", count = 1 }\n",
        );
        assert_eq!(
            (reward.line, reward.field.as_deref()),
            (5, Some("reward.prop"))
        );
        let generated =
            error_of("[[set]]\nid = \"habitat-ocean\"\nname = \"X\"\nspecies = [\"kea\"]\n");
        assert_eq!(generated.field.as_deref(), Some("id"));
        let syntax = error_of("[[species]\n");
        assert_eq!(syntax.line, 1);
    }

    #[test]
    fn a_catalog_without_species_is_refused() {
        let error = Catalog::load(false, &[], &PROPS).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("species"));
    }
}
