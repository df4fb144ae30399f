//! Reading one species data file: TOML in, checked species and sets out, or the file, line,
//! field and reason of the first thing wrong with it.

use super::catalog::CatalogError;
use super::{Category, Group, Habitat, Region, SetKind, SetReward, Species, SpeciesId, SpeciesSet};
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use toml::Spanned;

/// The largest data file read: 2 MiB, room for thousands of species.
pub const FILE_BYTES_MAX: usize = 2 << 20;
/// Ids the API uses as words next to species ids (`/v1/species/odds`).
const RESERVED_IDS: [&str; 2] = ["odds", "sets"];
/// Prefixes of the sets made from the catalog; themed sets use other ids.
pub(super) const GENERATED_SET_PREFIXES: [&str; 2] = ["habitat-", "region-"];
const NAME_CHARS_MAX: usize = 80;
const SCIENTIFIC_CHARS_MAX: usize = 100;
const RANGE_CHARS_MAX: usize = 160;
const FACT_CHARS_MAX: usize = 300;
const DESCRIPTION_CHARS_MAX: usize = 300;
const REWARD_COUNT_MAX: u32 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    species: Vec<Spanned<RawSpecies>>,
    #[serde(default, rename = "set")]
    sets: Vec<Spanned<RawSet>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpecies {
    id: Spanned<String>,
    common_name: Spanned<String>,
    scientific_name: Spanned<String>,
    category: Spanned<Category>,
    habitat: Spanned<Habitat>,
    region: Spanned<Region>,
    range: Spanned<String>,
    group: Spanned<Group>,
    fact: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    description: Option<Spanned<String>>,
    species: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    reward: Option<RawReward>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReward {
    prop: Spanned<String>,
    count: Spanned<u32>,
}

/// A themed set as read, with the lines its parts came from, so a later check (an unknown
/// species, an unknown prop) can still point at the right line.
#[derive(Clone, Debug)]
pub(super) struct SetInFile {
    pub set: SpeciesSet,
    pub file: String,
    pub line: usize,
    pub member_lines: Vec<usize>,
    pub reward_line: usize,
}

pub(super) struct ParsedFile {
    pub species: Vec<Species>,
    pub sets: Vec<SetInFile>,
}

/// The text being read, to turn byte spans into lines and name the field at fault.
pub(super) struct DataFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

impl DataFile<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    fn error(
        &self,
        span: Range<usize>,
        field: Option<&str>,
        reason: impl Into<String>,
    ) -> CatalogError {
        CatalogError {
            file: self.name.to_string(),
            line: self.line(span.start),
            field: field.map(str::to_string),
            reason: reason.into(),
        }
    }

    fn at<T>(&self, value: &Spanned<T>, field: &str, reason: impl Into<String>) -> CatalogError {
        self.error(value.span(), Some(field), reason)
    }

    /// The key written on `line` (`category = "XX"` → `category`), to name the field of a
    /// TOML error.
    fn key_on_line(&self, line: usize) -> Option<String> {
        let text = self.text.lines().nth(line.checked_sub(1)?)?;
        let (key, _) = text.split_once('=')?;
        let key = key.trim();
        (!key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| key.to_string())
    }

    fn toml_error(&self, error: &toml::de::Error) -> CatalogError {
        let reason = error
            .message()
            .trim()
            .lines()
            .collect::<Vec<_>>()
            .join("; ");
        let span = error.span().unwrap_or(0..0);
        let line = self.line(span.start);
        CatalogError {
            file: self.name.to_string(),
            line,
            field: self.key_on_line(line),
            reason,
        }
    }

    pub(super) fn parse(&self) -> Result<ParsedFile, CatalogError> {
        if self.text.len() > FILE_BYTES_MAX {
            return Err(self.error(0..0, None, "the file is larger than 2 MiB"));
        }
        let raw: RawFile = toml::from_str(self.text).map_err(|error| self.toml_error(&error))?;
        let mut seen = HashSet::new();
        let mut species = Vec::with_capacity(raw.species.len());
        for entry in raw.species {
            let raw = entry.into_inner();
            let id_span = raw.id.span();
            let parsed = self.species(raw)?;
            if !seen.insert(parsed.id.clone()) {
                return Err(self.error(
                    id_span,
                    Some("id"),
                    format!("species {} is defined twice in this file", parsed.id),
                ));
            }
            species.push(parsed);
        }
        let mut sets = Vec::with_capacity(raw.sets.len());
        let mut set_ids = HashSet::new();
        for entry in raw.sets {
            let span = entry.span();
            let set = self.set(entry.into_inner(), span)?;
            if !set_ids.insert(set.set.id.clone()) {
                return Err(CatalogError {
                    file: self.name.to_string(),
                    line: set.line,
                    field: Some("id".into()),
                    reason: format!("set {} is defined twice in this file", set.set.id),
                });
            }
            sets.push(set);
        }
        Ok(ParsedFile { species, sets })
    }

    fn id(&self, raw: &Spanned<String>) -> Result<SpeciesId, CatalogError> {
        let id = SpeciesId::parse(raw.get_ref()).map_err(|reason| self.at(raw, "id", reason))?;
        if RESERVED_IDS.contains(&id.as_str()) {
            return Err(self.at(
                raw,
                "id",
                format!("{id:?} is reserved by the API; pick another id"),
            ));
        }
        Ok(id)
    }

    fn text(&self, raw: Spanned<String>, field: &str, max: usize) -> Result<String, CatalogError> {
        let text = raw.get_ref().trim();
        if text.is_empty() {
            return Err(self.at(&raw, field, format!("{field} must not be empty")));
        }
        if text.chars().count() > max {
            return Err(self.at(
                &raw,
                field,
                format!("{field} is longer than {max} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(self.at(
                &raw,
                field,
                format!("{field} must be one line without control characters"),
            ));
        }
        Ok(text.to_string())
    }

    fn species(&self, raw: RawSpecies) -> Result<Species, CatalogError> {
        let id = self.id(&raw.id)?;
        let scientific_span = raw.scientific_name.span();
        let scientific_name =
            self.text(raw.scientific_name, "scientific_name", SCIENTIFIC_CHARS_MAX)?;
        let binomial = scientific_name.split(' ').count() >= 2
            && scientific_name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase());
        if !binomial {
            return Err(self.error(
                scientific_span,
                Some("scientific_name"),
                format!("a scientific name is a capitalised genus and a species epithet (\"Rhincodon typus\"), got {scientific_name:?}"),
            ));
        }
        Ok(Species {
            common_name: self.text(raw.common_name, "common_name", NAME_CHARS_MAX)?,
            scientific_name,
            category: raw.category.into_inner(),
            habitat: raw.habitat.into_inner(),
            region: raw.region.into_inner(),
            range: self.text(raw.range, "range", RANGE_CHARS_MAX)?,
            group: raw.group.into_inner(),
            fact: self.text(raw.fact, "fact", FACT_CHARS_MAX)?,
            id,
        })
    }

    fn set(&self, raw: RawSet, span: Range<usize>) -> Result<SetInFile, CatalogError> {
        let id = self.id(&raw.id)?;
        if GENERATED_SET_PREFIXES
            .iter()
            .any(|prefix| id.as_str().starts_with(prefix))
        {
            return Err(self.at(
                &raw.id,
                "id",
                "ids starting with habitat- or region- belong to the sets made from the catalog",
            ));
        }
        let name = self.text(raw.name, "name", NAME_CHARS_MAX)?;
        let description = match raw.description {
            Some(text) => self.text(text, "description", DESCRIPTION_CHARS_MAX)?,
            None => String::new(),
        };
        if raw.species.get_ref().is_empty() {
            return Err(self.at(&raw.species, "species", "a set needs at least one species"));
        }
        let mut members = Vec::new();
        let mut member_lines = Vec::new();
        for member in raw.species.get_ref() {
            let member_id = SpeciesId::parse(member.get_ref())
                .map_err(|reason| self.at(member, "species", reason))?;
            if members.contains(&member_id) {
                return Err(self.at(member, "species", format!("{member_id} is listed twice")));
            }
            member_lines.push(self.line(member.span().start));
            members.push(member_id);
        }
        let (reward, reward_line) = match raw.reward {
            Some(reward) => {
                let count = *reward.count.get_ref();
                if !(1..=REWARD_COUNT_MAX).contains(&count) {
                    return Err(self.at(
                        &reward.count,
                        "reward.count",
                        format!("a reward is 1 to {REWARD_COUNT_MAX} props"),
                    ));
                }
                let line = self.line(reward.prop.span().start);
                let prop = self.text(reward.prop, "reward.prop", NAME_CHARS_MAX)?;
                (Some(SetReward { prop, count }), line)
            }
            None => (None, 0),
        };
        Ok(SetInFile {
            set: SpeciesSet {
                id,
                kind: SetKind::Themed,
                name,
                description,
                species: members,
                reward,
            },
            file: self.name.to_string(),
            line: self.line(span.start),
            member_lines,
            reward_line,
        })
    }
}
