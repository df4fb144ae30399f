//! What the social pages (friends, a friend's forest, feed, rankings, props, album) share: the
//! message a form's answer leaves for the page it returns to (a key in the query string, never
//! text: `?done=stolen&grams=24` or `?refused=owner_floor`), the game's refusals worded in the
//! page's language, friends found by handle, and times said as "in 3 h" or "2 days ago".

use super::context::{PageContext, PageError};
use super::i18n::Lang;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fluent_templates::fluent_bundle::FluentValue;
use openforest_core::{Handle, UserId};
use openforest_store::User;

/// What a form did, for the page it comes back to.
pub const DONE: &[&str] = &[
    "stolen",
    "helped",
    "watered",
    "requested",
    "befriended",
    "accepted",
    "declined",
    "removed",
    "blocked",
    "prop_used",
    "prop_gifted",
    "card_gifted",
    "drawn",
];

/// Why the game said no: its rules (the API's `rule`), and a few plain refusals.
pub const REFUSALS: &[&str] = &[
    "owner_floor",
    "once_per_ball",
    "shielded",
    "daily_steal_cap",
    "daily_watering_cap",
    "not_ripe",
    "expired",
    "already_collected",
    "not_expiring_soon",
    "own_forest",
    "own_ball",
    "no_prop",
    "no_card",
    "last_copy",
    "draw_threshold",
    "already_drawn",
    "already_friends",
    "friends_max",
    "insufficient_energy",
    "too_fast",
    "not_friends",
    "not_found",
    "invalid",
    "rule",
];

/// The refusal an API error stands for, when it is one a player can understand and act on;
/// anything else (a server problem) is an error page.
pub fn refusal(err: &ApiError) -> Option<&'static str> {
    match err {
        ApiError::GameRule { rule, .. } => Some(
            REFUSALS
                .iter()
                .copied()
                .find(|known| known == rule)
                .unwrap_or("rule"),
        ),
        ApiError::InsufficientEnergy(_) => Some("insufficient_energy"),
        ApiError::RateLimited { .. } => Some("too_fast"),
        ApiError::Forbidden(_) => Some("not_friends"),
        ApiError::NotFound(_) => Some("not_found"),
        ApiError::InvalidField { .. } => Some("invalid"),
        _ => None,
    }
}

/// A message key for a `done` or `refused` word: `refused-owner-floor`.
fn message_key(prefix: &str, word: &str) -> String {
    format!("{prefix}-{}", word.replace('_', "-"))
}

/// What a form did, carried back to the page in the query string.
pub struct Done {
    pub word: &'static str,
    pub grams: Option<u64>,
    /// A species id (checked against the catalog before it is shown).
    pub species: Option<String>,
}

impl Done {
    pub fn new(word: &'static str) -> Done {
        Done {
            word,
            grams: None,
            species: None,
        }
    }

    pub fn grams(word: &'static str, grams: u64) -> Done {
        Done {
            grams: Some(grams),
            ..Done::new(word)
        }
    }

    fn query(&self) -> String {
        let mut query = format!("done={}", self.word);
        if let Some(grams) = self.grams {
            query.push_str(&format!("&grams={grams}"));
        }
        if let Some(species) = &self.species {
            let species: String = species
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
                .collect();
            query.push_str(&format!("&species={species}"));
        }
        query
    }
}

/// The answer to a form: back to `back` (a path of ours) with what it did, or with why the game
/// said no; an error page for anything else.
pub fn answer(
    context: &PageContext,
    back: &str,
    result: ApiResult<Done>,
) -> Result<Response, PageError> {
    match result {
        Ok(done) => Ok(Redirect::to(&format!("{back}?{}", done.query())).into_response()),
        Err(err) => match refusal(&err) {
            Some(word) => Ok(Redirect::to(&format!("{back}?refused={word}")).into_response()),
            None => Err(context.error(err)),
        },
    }
}

/// A message at the top of a page.
pub struct Notice {
    pub text: String,
    /// A refusal (shown as an alert) rather than something done (a status).
    pub refused: bool,
}

/// The first value of `name` in a query.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The notice a query asks for: only known words, worded here (never text from the URL).
/// `name` is what the page is about (the friend's handle), `species` the card's name.
pub fn notice(
    state: &AppState,
    lang: Lang,
    query: &[(String, String)],
    name: &str,
) -> Option<Notice> {
    let species = param(query, "species")
        .and_then(|id| state.species.catalog().get(id))
        .map(|species| species.common_name.clone())
        .unwrap_or_default();
    let grams = param(query, "grams")
        .and_then(|grams| grams.parse::<u64>().ok())
        .unwrap_or(0);
    let args = || -> Vec<(&'static str, FluentValue<'static>)> {
        vec![
            ("grams", grams.into()),
            ("name", name.to_string().into()),
            ("species", species.clone().into()),
        ]
    };
    if let Some(word) = param(query, "done").filter(|word| DONE.contains(word)) {
        return Some(Notice {
            text: lang.tn(&message_key("done", word), args()),
            refused: false,
        });
    }
    param(query, "refused")
        .filter(|word| REFUSALS.contains(word))
        .map(|word| Notice {
            text: lang.tn(&message_key("refused", word), args()),
            refused: true,
        })
}

/// The signed-in player's id, if any.
pub fn signed_in(context: &PageContext) -> Option<UserId> {
    context.user.as_ref().map(|user| user.user_id)
}

/// The user with this handle (any case), or the not-found page.
pub async fn user_named(
    state: &AppState,
    context: &PageContext,
    handle: &str,
) -> Result<User, PageError> {
    let not_found = || PageError::new(context.lang, StatusCode::NOT_FOUND, "error-not-found");
    let handle = Handle::parse(handle).map_err(|_| not_found())?;
    state
        .store
        .user_by_handle(handle.as_str())
        .await
        .map_err(|err| context.error(err.into()))?
        .map(|(user, _)| user)
        .ok_or_else(not_found)
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How long until something: "2 days", "5 h", "12 min".
pub fn time_left(lang: Lang, ms: i64) -> String {
    let ms = ms.max(0);
    if ms >= 2 * DAY_MS {
        lang.t1("span-days", "count", ms / DAY_MS)
    } else if ms >= HOUR_MS {
        lang.t1("span-hours", "count", ms / HOUR_MS)
    } else {
        lang.t1(
            "span-minutes",
            "count",
            ((ms + MINUTE_MS - 1) / MINUTE_MS).max(1),
        )
    }
}

/// How long ago something was: "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(lang: Lang, ms: i64) -> String {
    if ms < MINUTE_MS {
        lang.t("ago-now")
    } else {
        lang.t1("ago", "span", time_left(lang, ms))
    }
}

/// Milliseconds from `now` to an RFC 3339 time the API wrote (0 when unreadable).
pub fn millis_until(rfc3339: &str, now_ms: i64) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|at| at.timestamp_millis() - now_ms)
        .unwrap_or(0)
}

/// A prop kind's name in the page's language (the kind itself when unknown).
pub fn prop_name(lang: Lang, kind: &str) -> String {
    if crate::routes::props::KINDS.contains(&kind) {
        lang.t(&message_key("prop", kind))
    } else {
        kind.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_done_and_refusal_word_has_a_message_in_every_language() {
        for lang in Lang::ALL {
            for word in DONE {
                let key = message_key("done", word);
                assert_ne!(lang.t(&key), key, "{lang:?} {key}");
            }
            for word in REFUSALS {
                let key = message_key("refused", word);
                assert_ne!(lang.t(&key), key, "{lang:?} {key}");
            }
            for kind in crate::routes::props::KINDS {
                assert_ne!(prop_name(lang, kind), kind);
            }
        }
    }

    #[test]
    fn game_rules_become_refusals_and_server_problems_do_not() {
        let rule = ApiError::GameRule {
            rule: "owner_floor",
            detail: String::new(),
        };
        assert_eq!(refusal(&rule), Some("owner_floor"));
        let unknown = ApiError::GameRule {
            rule: "something_new",
            detail: String::new(),
        };
        assert_eq!(refusal(&unknown), Some("rule"));
        assert_eq!(
            refusal(&ApiError::RateLimited {
                retry_after_secs: 1
            }),
            Some("too_fast")
        );
        assert_eq!(refusal(&ApiError::Internal("disk".into())), None);
    }

    #[test]
    fn spans_read_in_days_hours_or_minutes() {
        assert_eq!(time_left(Lang::En, 3 * DAY_MS + 5), "3 days");
        assert_eq!(time_left(Lang::En, 5 * HOUR_MS), "5 h");
        assert_eq!(time_left(Lang::En, 1), "1 min");
        assert_eq!(ago(Lang::En, 2 * HOUR_MS), "2 h ago");
        assert_eq!(ago(Lang::En, 5), "just now");
    }
}
