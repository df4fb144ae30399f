//! The pages' languages: English, Simplified Chinese and Indonesian, from Fluent files embedded
//! at compile time. The language is the `of_lang` cookie's (set by the switch) or else the best
//! match of the browser's `Accept-Language`, or else English.

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around placeables: our values are numbers and handles.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie the language switch sets.
pub const LANG_COOKIE: &str = "of_lang";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
    Id,
}

/// Our languages' identifiers, in `Lang::ALL`'s order (the tags are constants and parse).
static IDS: LazyLock<[LanguageIdentifier; 3]> =
    LazyLock::new(|| Lang::ALL.map(|lang| lang.code().parse().unwrap_or_default()));

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::ZhCn, Lang::Id];

    /// The BCP 47 tag, as in `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
            Lang::Id => "id",
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> String {
        self.t("language-name")
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(code.trim()))
    }

    fn id(self) -> &'static LanguageIdentifier {
        &IDS[self as usize]
    }

    /// The message `key` in this language.
    pub fn t(self, key: &str) -> String {
        LOCALES.lookup(self.id(), key)
    }

    /// The message `key`, or `None` when no file has it (for keys made from data).
    pub fn try_t(self, key: &str) -> Option<String> {
        LOCALES.try_lookup(self.id(), key)
    }

    /// An action's name: our translation of a known action key (`action-metro_ride`), else the
    /// title the operator's methodology gives it, else the key.
    pub fn action(self, key: &str, methodology: &openforest_core::Methodology) -> String {
        self.try_t(&format!("action-{key}"))
            .or_else(|| methodology.action(key).map(|rule| rule.title().to_string()))
            .unwrap_or_else(|| key.to_string())
    }

    /// The message `key` with one numeric or text argument.
    pub fn t1(
        self,
        key: &str,
        name: &'static str,
        value: impl Into<FluentValue<'static>>,
    ) -> String {
        let args = HashMap::from([(Cow::Borrowed(name), value.into())]);
        LOCALES.lookup_with_args(self.id(), key, &args)
    }

    /// The message `key` with several arguments.
    pub fn tn(self, key: &str, args: Vec<(&'static str, FluentValue<'static>)>) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .into_iter()
            .map(|(name, value)| (Cow::Borrowed(name), value))
            .collect();
        LOCALES.lookup_with_args(self.id(), key, &args)
    }

    /// The language for a request: a valid switch cookie wins, then `Accept-Language`.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        cookie
            .and_then(Lang::from_code)
            .or_else(|| accept_language.and_then(from_accept_language))
            .unwrap_or(Lang::En)
    }
}

/// Weights must be q=0 to q=1; at most this many entries are looked at.
const ACCEPT_LANGUAGE_ENTRIES_MAX: usize = 32;

/// The best of our languages in an `Accept-Language` header (RFC 9110 §12.5.4): entries by
/// weight, the first whose primary subtag we speak. Any `zh` gets Simplified Chinese (the only
/// Chinese we have); `in` is Indonesian's old code.
fn from_accept_language(header: &str) -> Option<Lang> {
    let mut entries: Vec<(u16, &str)> = header
        .split(',')
        .take(ACCEPT_LANGUAGE_ENTRIES_MAX)
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let weight = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_weight)?;
            (!tag.is_empty() && weight > 0).then_some((weight, tag))
        })
        .collect();
    // Stable: equal weights keep the browser's order.
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    entries.into_iter().find_map(|(_, tag)| {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::ZhCn),
            "id" | "in" => Some(Lang::Id),
            _ => None,
        }
    })
}

/// A q-value in thousandths; `None` when malformed.
fn parse_weight(raw: &str) -> Option<u16> {
    let weight: f32 = raw.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&weight)
        .then(|| (weight * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_weighted_language_we_speak() {
        assert_eq!(
            from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(
            from_accept_language("fr-FR, id;q=0.7, en;q=0.5"),
            Some(Lang::Id)
        );
        assert_eq!(
            from_accept_language("en;q=0.2, zh-TW;q=0.6"),
            Some(Lang::ZhCn)
        );
        assert_eq!(from_accept_language("de, fr;q=0.5"), None);
        assert_eq!(from_accept_language("id;q=0, en"), Some(Lang::En));
        assert_eq!(from_accept_language("id;q=bogus, en"), Some(Lang::En));
    }

    #[test]
    fn the_switch_cookie_wins_over_the_browser() {
        assert_eq!(Lang::negotiate(Some("id"), Some("zh-CN")), Lang::Id);
        assert_eq!(Lang::negotiate(Some("klingon"), Some("zh-CN")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
    }

    fn keys(ftl: &str) -> Vec<&str> {
        ftl.lines()
            .filter(|line| !line.starts_with([' ', '#']))
            .filter_map(|line| line.split_once(" =").map(|(key, _)| key))
            .collect()
    }

    /// Each page group has its own `.ftl` file; every language has every file and key.
    #[test]
    fn every_language_has_every_message() {
        let dir = |lang: &str| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(lang)
        };
        let mut files: Vec<_> = std::fs::read_dir(dir("en"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        files.sort();
        assert!(!files.is_empty());
        let mut total = 0;
        for file in &files {
            let english = std::fs::read_to_string(dir("en").join(file)).unwrap();
            total += keys(&english).len();
            for lang in ["zh-CN", "id"] {
                let other = std::fs::read_to_string(dir(lang).join(file))
                    .unwrap_or_else(|_| panic!("locales/{lang}/{file:?} is missing"));
                assert_eq!(keys(&other), keys(&english), "{lang}/{file:?}");
            }
        }
        assert!(total > 30);
        assert_eq!(Lang::ZhCn.t("signin-title"), "登录");
        assert_eq!(Lang::Id.t1("grams", "grams", 12u64), "12 g");
    }
}
