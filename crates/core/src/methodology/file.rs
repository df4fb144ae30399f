//! Reading a methodology file: TOML in, a checked `Methodology` out, or the line and the reason.

use super::Methodology;
use super::caps::Caps;
use super::dedup::{DedupPeriod, DedupRule};
use super::quantity::{Factor, Quantity, QuantityInFile};
use super::ripening::Ripening;
use super::rule::{ActionKey, ActionRule, GramsRule, Source, Unit, is_identifier};
use crate::grams::Grams;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use thiserror::Error;
use toml::Spanned;

/// The largest methodology file we read: 1 MiB, room for thousands of actions.
pub const METHODOLOGY_BYTES_MAX: usize = 1 << 20;
/// The most action types one methodology may define.
pub const ACTIONS_MAX: usize = 500;
const NAME_CHARS_MAX: usize = 40;
const TITLE_CHARS_MAX: usize = 100;
const CITATION_CHARS_MAX: usize = 2_000;
const URL_CHARS_MAX: usize = 2_000;

/// A methodology file that cannot be used, with the 1-based line to fix and why. The line is
/// that of the offending value, or of the `[[action]]` header when something is missing; 1 when
/// the whole file is at fault.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {reason}")]
pub struct MethodologyError {
    pub line: usize,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethodology {
    name: Spanned<String>,
    version: Spanned<u32>,
    #[serde(default, rename = "action")]
    actions: Vec<Spanned<RawAction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    key: Spanned<String>,
    title: Spanned<String>,
    unit: Spanned<String>,
    grams_per_unit: Option<Spanned<Factor>>,
    baseline_grams_per_unit: Option<Spanned<Factor>>,
    mode_grams_per_unit: Option<Spanned<Factor>>,
    grams_per_10000_steps: Option<Spanned<Factor>>,
    #[serde(default)]
    fractional: bool,
    quantity_max: Option<Spanned<QuantityInFile>>,
    caps: Option<RawCaps>,
    dedup: Option<RawDedup>,
    ripening: Option<Ripening>,
    enabled: Option<bool>,
    source: Option<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    daily_actions: Option<Spanned<u32>>,
    monthly_actions: Option<Spanned<u32>>,
    daily_quantity: Option<Spanned<QuantityInFile>>,
    monthly_quantity: Option<Spanned<QuantityInFile>>,
    daily_grams: Option<Spanned<u64>>,
    monthly_grams: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    key: Spanned<String>,
    per: DedupPeriod,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    citation: Spanned<String>,
    url: Option<Spanned<String>>,
}

pub(super) fn parse(text: &str) -> Result<Methodology, MethodologyError> {
    let file = File { text };
    if text.len() > METHODOLOGY_BYTES_MAX {
        return Err(file.error(0..0, "the file is larger than 1 MiB"));
    }
    let raw: RawMethodology = toml::from_str(text).map_err(|error| file.toml_error(&error))?;
    file.methodology(raw)
}

/// The text being read, to turn byte spans into line numbers.
struct File<'a> {
    text: &'a str,
}

impl File<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    fn error(&self, span: Range<usize>, reason: impl Into<String>) -> MethodologyError {
        MethodologyError {
            line: self.line(span.start),
            reason: reason.into(),
        }
    }

    fn at<T>(&self, value: &Spanned<T>, reason: impl Into<String>) -> MethodologyError {
        self.error(value.span(), reason)
    }

    fn toml_error(&self, error: &toml::de::Error) -> MethodologyError {
        let reason = error
            .message()
            .trim()
            .lines()
            .collect::<Vec<_>>()
            .join("; ");
        self.error(error.span().unwrap_or(0..0), reason)
    }

    fn methodology(&self, raw: RawMethodology) -> Result<Methodology, MethodologyError> {
        let name = raw.name.get_ref();
        let name_allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b);
        if !(1..=NAME_CHARS_MAX).contains(&name.len()) || !name.bytes().all(name_allowed) {
            return Err(self.at(
                &raw.name,
                format!("name must be 1 to 40 characters of a-z, 0-9, '_' and '-', got {name:?}"),
            ));
        }
        if *raw.version.get_ref() == 0 {
            return Err(self.at(&raw.version, "version starts at 1"));
        }
        if raw.actions.is_empty() {
            return Err(self.error(0..0, "a methodology needs at least one [[action]]"));
        }
        if raw.actions.len() > ACTIONS_MAX {
            return Err(self.at(
                &raw.actions[ACTIONS_MAX],
                format!("a methodology holds at most {ACTIONS_MAX} actions"),
            ));
        }
        let mut first_line_of_key = HashMap::new();
        let mut actions = Vec::with_capacity(raw.actions.len());
        for raw_action in raw.actions {
            let header = raw_action.span();
            let raw_action = raw_action.into_inner();
            let key_line = self.line(raw_action.key.span().start);
            let action = self.action(header, raw_action)?;
            if let Some(first_line) = first_line_of_key.insert(action.key.clone(), key_line) {
                return Err(MethodologyError {
                    line: key_line,
                    reason: format!(
                        "action key `{}` is already used at line {first_line}",
                        action.key
                    ),
                });
            }
            actions.push(action);
        }
        Ok(Methodology {
            name: name.clone(),
            version: raw.version.into_inner(),
            actions,
        })
    }

    fn action(&self, header: Range<usize>, raw: RawAction) -> Result<ActionRule, MethodologyError> {
        let key =
            ActionKey::parse(raw.key.get_ref()).map_err(|e| self.at(&raw.key, e.to_string()))?;
        let title = raw.title.get_ref().trim();
        if title.is_empty() || title.chars().count() > TITLE_CHARS_MAX {
            return Err(self.at(&raw.title, "title must be 1 to 100 characters"));
        }
        let unit = Unit::parse(raw.unit.get_ref()).ok_or_else(|| {
            self.at(
                &raw.unit,
                format!(
                    "unit must be 1 to 20 characters of a-z, 0-9 and '_', got {:?}",
                    raw.unit.get_ref()
                ),
            )
        })?;
        let grams = self.grams_rule(&header, &key, &raw)?;
        let enabled = raw.enabled.unwrap_or(true);
        if enabled && grams.is_none() {
            return Err(self.error(
                header,
                format!(
                    "action `{key}` is enabled but states no grams: give grams_per_unit, \
                     baseline_grams_per_unit with mode_grams_per_unit, or grams_per_10000_steps \
                     (or set enabled = false until the factor is sourced)"
                ),
            ));
        }
        if let Some(GramsRule::Steps { .. }) = grams {
            let steps_field = raw
                .grams_per_10000_steps
                .as_ref()
                .map_or(header.clone(), Spanned::span);
            if unit.as_str() != "steps" {
                return Err(self.error(steps_field, "grams_per_10000_steps needs unit = \"steps\""));
            }
            if raw.fractional {
                return Err(self.error(steps_field, "steps are whole: drop fractional = true"));
            }
        }
        let source = self.source(&header, &key, raw.source)?;
        let quantity_max = match &raw.quantity_max {
            Some(max) => Some(self.quantity("quantity_max", max, raw.fractional)?),
            None => None,
        };
        let caps = match &raw.caps {
            Some(caps) => self.caps(caps, raw.fractional)?,
            None => Caps::default(),
        };
        let dedup = match raw.dedup {
            Some(dedup) => Some(self.dedup(dedup)?),
            None => None,
        };
        Ok(ActionRule {
            key,
            title: title.to_owned(),
            unit,
            grams,
            fractional: raw.fractional,
            quantity_max,
            caps,
            dedup,
            ripening: raw.ripening.unwrap_or(Ripening::NextMorning),
            enabled,
            source,
        })
    }

    /// Exactly one way of computing grams, or none for an action not yet sourced.
    fn grams_rule(
        &self,
        header: &Range<usize>,
        key: &ActionKey,
        raw: &RawAction,
    ) -> Result<Option<GramsRule>, MethodologyError> {
        let forms = [
            raw.grams_per_unit.is_some(),
            raw.baseline_grams_per_unit.is_some() || raw.mode_grams_per_unit.is_some(),
            raw.grams_per_10000_steps.is_some(),
        ];
        if forms.iter().filter(|given| **given).count() > 1 {
            return Err(self.error(
                header.clone(),
                format!(
                    "action `{key}` states grams in more than one way: give only one of \
                     grams_per_unit, baseline_grams_per_unit with mode_grams_per_unit, or \
                     grams_per_10000_steps"
                ),
            ));
        }
        let positive = |field: &'static str, factor: &Spanned<Factor>| {
            if factor.get_ref().is_zero() {
                Err(self.at(
                    factor,
                    format!(
                        "{field} must be more than zero (to credit nothing, set enabled = false)"
                    ),
                ))
            } else {
                Ok(*factor.get_ref())
            }
        };
        if let Some(factor) = &raw.grams_per_unit {
            let grams_per_unit = positive("grams_per_unit", factor)?;
            return Ok(Some(GramsRule::PerUnit { grams_per_unit }));
        }
        if let Some(factor) = &raw.grams_per_10000_steps {
            let grams_per_10000_steps = positive("grams_per_10000_steps", factor)?;
            return Ok(Some(GramsRule::Steps {
                grams_per_10000_steps,
            }));
        }
        match (&raw.baseline_grams_per_unit, &raw.mode_grams_per_unit) {
            (None, None) => Ok(None),
            (Some(baseline), None) => Err(self.at(
                baseline,
                "baseline_grams_per_unit needs mode_grams_per_unit (0 for cycling or walking)",
            )),
            (None, Some(mode)) => Err(self.at(
                mode,
                "mode_grams_per_unit needs baseline_grams_per_unit (e.g. an average car)",
            )),
            (Some(baseline), Some(mode)) => {
                let baseline_grams_per_unit = positive("baseline_grams_per_unit", baseline)?;
                let mode_grams_per_unit = *mode.get_ref();
                if mode_grams_per_unit >= baseline_grams_per_unit {
                    return Err(self.at(
                        mode,
                        format!(
                            "mode_grams_per_unit ({mode_grams_per_unit}) must be below \
                             baseline_grams_per_unit ({baseline_grams_per_unit}): otherwise \
                             nothing is avoided"
                        ),
                    ));
                }
                Ok(Some(GramsRule::ModeShift {
                    baseline_grams_per_unit,
                    mode_grams_per_unit,
                }))
            }
        }
    }

    fn quantity(
        &self,
        field: &str,
        value: &Spanned<QuantityInFile>,
        fractional: bool,
    ) -> Result<Quantity, MethodologyError> {
        let quantity = Quantity::from_milli(value.get_ref().0)
            .map_err(|e| self.at(value, format!("{field} {e}")))?;
        if !fractional && !quantity.is_whole() {
            return Err(self.at(
                value,
                format!(
                    "{field} must be whole: this action counts whole units \
                     (set fractional = true for km or kg)"
                ),
            ));
        }
        Ok(quantity)
    }

    fn caps(&self, raw: &RawCaps, fractional: bool) -> Result<Caps, MethodologyError> {
        let count = |field: &str, value: &Option<Spanned<u32>>| match value {
            Some(limit) if *limit.get_ref() == 0 => Err(self.at(
                limit,
                format!("{field} must be more than zero (to credit nothing, set enabled = false)"),
            )),
            Some(limit) => Ok(Some(*limit.get_ref())),
            None => Ok(None),
        };
        let grams = |field: &str, value: &Option<Spanned<u64>>| match value {
            Some(limit) if *limit.get_ref() == 0 => Err(self.at(
                limit,
                format!("{field} must be more than zero (to credit nothing, set enabled = false)"),
            )),
            Some(limit) => Ok(Some(Grams::new(*limit.get_ref()))),
            None => Ok(None),
        };
        let quantity = |field: &str, value: &Option<Spanned<QuantityInFile>>| match value {
            Some(limit) => self.quantity(field, limit, fractional).map(Some),
            None => Ok(None),
        };
        Ok(Caps {
            daily_actions: count("daily_actions", &raw.daily_actions)?,
            monthly_actions: count("monthly_actions", &raw.monthly_actions)?,
            daily_quantity: quantity("daily_quantity", &raw.daily_quantity)?,
            monthly_quantity: quantity("monthly_quantity", &raw.monthly_quantity)?,
            daily_grams: grams("daily_grams", &raw.daily_grams)?,
            monthly_grams: grams("monthly_grams", &raw.monthly_grams)?,
        })
    }

    fn dedup(&self, raw: RawDedup) -> Result<DedupRule, MethodologyError> {
        let key = raw.key.get_ref();
        if !is_identifier(key, NAME_CHARS_MAX) {
            return Err(self.at(
                &raw.key,
                format!("dedup key must be 1 to 40 characters of a-z, 0-9 and '_', got {key:?}"),
            ));
        }
        Ok(DedupRule {
            key: key.clone(),
            per: raw.per,
        })
    }

    fn source(
        &self,
        header: &Range<usize>,
        key: &ActionKey,
        raw: Option<RawSource>,
    ) -> Result<Source, MethodologyError> {
        let Some(raw) = raw else {
            return Err(self.error(
                header.clone(),
                format!(
                    "action `{key}` has no source: every factor must carry one, \
                     source = {{ citation = \"…\", url = \"…\" }}"
                ),
            ));
        };
        let citation = raw.citation.get_ref().trim();
        if citation.is_empty() || citation.chars().count() > CITATION_CHARS_MAX {
            return Err(self.at(
                &raw.citation,
                "source citation must be 1 to 2,000 characters",
            ));
        }
        let url = match &raw.url {
            Some(url) => {
                let text = url.get_ref().trim();
                let web = text.starts_with("https://") || text.starts_with("http://");
                if !web || text.len() > URL_CHARS_MAX || text.chars().any(char::is_whitespace) {
                    return Err(self.at(url, "source url must be an http(s) address"));
                }
                Some(text.to_owned())
            }
            None => None,
        };
        Ok(Source {
            citation: citation.to_owned(),
            url,
        })
    }
}
