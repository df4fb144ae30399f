//! `/admin`: the operator's console, for admins only (anyone else signed in gets 403, someone
//! signed out is sent to sign in). One sub-page per area: partners and their keys,
//! methodology versions, the catalog and NGOs, props grants, the abuse review queue and the
//! webhook delivery log. Every form is a plain POST with the CSRF field; the pages call the
//! same functions as the admin API's handlers (`routes::*_admin`, `routes::catalog`,
//! `routes::props`), so the checks and their field names are the API's.
//!
//! After a change the console answers a redirect to its page with `?done=…` (a notice from a
//! fixed list), except when it shows a secret once (an NGO API key, a generated partner
//! signing key): that page is the answer itself, never a URL or a cookie. A refused form is
//! shown again with what was typed and a message naming the field.

mod abuse;
mod catalog;
mod methodologies;
mod partners;
mod props;
mod webhooks;

use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use crate::error::ApiError;
use crate::routes::abuse_admin::review_queue;
use crate::routes::webhooks_admin::delivery_log;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use openforest_core::{Role, Timestamp};
use openforest_store::{DeliveryFilter, DeliveryStatus, User};
use serde::Deserialize;
use uuid::Uuid;

/// The console's routes (merged into the web router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(overview))
        .route(
            "/admin/partners",
            get(partners::page).post(partners::create),
        )
        .route("/admin/partners/{partner_id}/keys", post(partners::add_key))
        .route(
            "/admin/partners/{partner_id}/keys/{key_id}/revoke",
            post(partners::revoke_key),
        )
        .route(
            "/admin/partners/{partner_id}/disable",
            post(partners::disable),
        )
        .route(
            "/admin/partners/{partner_id}/enable",
            post(partners::enable),
        )
        .route(
            "/admin/methodologies",
            get(methodologies::page).post(methodologies::upload),
        )
        .route(
            "/admin/methodologies/{name}/{version}",
            get(methodologies::version),
        )
        .route(
            "/admin/methodologies/{name}/{version}/activate",
            post(methodologies::activate),
        )
        .route("/admin/catalog", get(catalog::page))
        .route("/admin/catalog/ngos", post(catalog::create_ngo))
        .route("/admin/catalog/members", post(catalog::add_member))
        .route("/admin/catalog/ngo-keys", post(catalog::issue_ngo_key))
        .route("/admin/catalog/sites", post(catalog::create_site))
        .route("/admin/catalog/items", post(catalog::create_item))
        .route("/admin/props", get(props::page).post(props::grant))
        .route("/admin/abuse", get(abuse::page))
        .route("/admin/abuse/{report_id}/review", post(abuse::review))
        .route("/admin/webhooks", get(webhooks::page))
        .route("/admin/webhooks/{delivery_id}/retry", post(webhooks::retry))
}

/// The console's sections, in its sub-navigation: path and message key.
const SECTIONS: [(&str, &str); 7] = [
    ("/admin", "op-admin-overview"),
    ("/admin/partners", "op-admin-partners"),
    ("/admin/methodologies", "op-admin-methodologies"),
    ("/admin/catalog", "op-admin-catalog"),
    ("/admin/props", "op-admin-props"),
    ("/admin/abuse", "op-admin-abuse"),
    ("/admin/webhooks", "op-admin-webhooks"),
];

/// One link of the console's sub-navigation.
pub struct Section {
    pub path: &'static str,
    pub label: String,
    pub current: bool,
}

fn sections(lang: Lang, current: &str) -> Vec<Section> {
    SECTIONS
        .iter()
        .map(|&(path, key)| Section {
            path,
            label: lang.t(key),
            current: path == current,
        })
        .collect()
}

/// The signed-in admin, or what anyone else gets: the sign-in page, or 403.
pub(super) fn admin_of(context: &PageContext) -> Result<&User, Box<Response>> {
    match &context.user {
        None => Err(Box::new(context.to_signin())),
        Some(user) if user.role == Role::Admin => Ok(user),
        Some(_) => Err(Box::new(
            PageError::new(context.lang, StatusCode::FORBIDDEN, "error-forbidden").into_response(),
        )),
    }
}

/// The fields of a posted form, in order (a checkbox list repeats its name).
#[derive(Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value named `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every value named `name`, non-empty ones only.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.clone())
            .collect()
    }

    pub fn csrf(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == "csrf")
            .map(|(_, value)| value.as_str())
    }
}

/// A form that was refused: which form, the field at fault and why, and what was typed.
pub struct Attempt {
    pub form: &'static str,
    pub field: String,
    pub message: String,
    pub fields: Fields,
}

/// The refused form of a page, if any; templates ask it about their forms.
#[derive(Default)]
pub struct Refusal(pub Option<Attempt>);

impl Refusal {
    /// The message for `form`, when that form was refused.
    pub fn message(&self, form: &str) -> Option<&str> {
        self.0
            .as_ref()
            .filter(|attempt| attempt.form == form)
            .map(|attempt| attempt.message.as_str())
    }

    /// Whether `field` of `form` is the one at fault.
    pub fn invalid(&self, form: &str, field: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|attempt| attempt.form == form && attempt.field == field)
    }

    /// What was typed into `field` of `form`, shown again (escaped) after a refusal.
    pub fn value(&self, form: &str, field: &str) -> &str {
        self.0
            .as_ref()
            .filter(|attempt| attempt.form == form)
            .map_or("", |attempt| attempt.fields.get(field))
    }

    /// Whether a checkbox of `form` was ticked with `value`.
    pub fn checked(&self, form: &str, field: &str, value: &str) -> bool {
        self.0.as_ref().is_some_and(|attempt| {
            attempt.form == form
                && attempt
                    .fields
                    .0
                    .iter()
                    .any(|(key, typed)| key == field && typed == value)
        })
    }
}

/// The form field an API field name belongs to: `allowed_actions[2]` → `allowed_actions`,
/// `site.latitude` → `latitude`.
fn form_field(api_field: &str) -> String {
    let field = api_field.split('[').next().unwrap_or(api_field);
    field.rsplit('.').next().unwrap_or(field).to_string()
}

/// The message key of a form field's label.
fn label_key(field: &str) -> &'static str {
    match field {
        "name" => "op-field-name",
        "allowed_actions" => "op-field-allowed-actions",
        "key_id" => "op-field-key-id",
        "public_key" => "op-field-public-key",
        "handle" => "op-field-handle",
        "kind" => "op-field-kind",
        "count" => "op-field-count",
        "about" => "op-field-about",
        "region" => "op-field-region",
        "latitude" => "op-field-latitude",
        "longitude" => "op-field-longitude",
        "scientific_name" => "op-field-scientific-name",
        "unit_grams" => "op-field-unit-grams",
        "quota_units" => "op-field-quota-units",
        "seasons" | "season_name" | "season_from" | "season_to" => "op-field-season",
        "ngo_id" => "op-field-ngo",
        "site_id" => "op-field-site",
        "toml" => "op-field-toml",
        _ => "op-field-form",
    }
}

/// A refusal naming its field: "Check “Name”: …".
pub(super) fn refusal(
    lang: Lang,
    form: &'static str,
    field: &str,
    detail: &str,
    fields: Fields,
) -> Refusal {
    let field = form_field(field);
    let message = lang.tn(
        "op-error-field",
        vec![
            ("field", lang.t(label_key(&field)).into()),
            ("detail", detail.to_string().into()),
        ],
    );
    Refusal(Some(Attempt {
        form,
        field,
        message,
        fields,
    }))
}

/// An API error as a refusal of `form` when it is about what was typed; `missing_field` is the
/// field to blame when something named does not exist (a handle, an NGO). Other errors are
/// answered as the error page.
pub(super) fn refused(
    lang: Lang,
    form: &'static str,
    err: ApiError,
    missing_field: &str,
    fields: Fields,
) -> Result<Refusal, ApiError> {
    Ok(match err {
        ApiError::InvalidField { field, detail } => refusal(lang, form, &field, &detail, fields),
        ApiError::InvalidMethodology { line, reason } => refusal(
            lang,
            form,
            "toml",
            &lang.tn(
                "op-error-line",
                vec![("line", line.into()), ("reason", reason.into())],
            ),
            fields,
        ),
        ApiError::Conflict { field, .. } => {
            refusal(lang, form, field, &lang.t("op-error-taken"), fields)
        }
        ApiError::ConflictExplained { field, detail } => {
            let field = if form == "upload" { "toml" } else { field };
            refusal(lang, form, field, &detail, fields)
        }
        ApiError::NotFound(_) => refusal(
            lang,
            form,
            missing_field,
            &lang.t("op-error-not-found"),
            fields,
        ),
        other => return Err(other),
    })
}

/// A number typed into `field`, if it reads as one.
pub(super) fn number_of<T: std::str::FromStr>(fields: &Fields, field: &str) -> Option<T> {
    fields.get(field).trim().parse().ok()
}

/// A uuid from the path, or the not-found page.
pub(super) fn uuid_of(context: &PageContext, raw: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw)
        .map_err(|_| PageError::new(context.lang, StatusCode::NOT_FOUND, "error-not-found"))
}

/// The notice for `?done=…`: only these, so a link cannot make the console say anything else.
const NOTICES: [&str; 14] = [
    "partner-created",
    "key-revoked",
    "partner-disabled",
    "partner-enabled",
    "methodology-uploaded",
    "methodology-activated",
    "ngo-created",
    "member-added",
    "site-created",
    "item-created",
    "props-granted",
    "report-reviewed",
    "delivery-retried",
    "key-added",
];

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

impl Done {
    pub fn notice(&self, lang: Lang) -> Option<String> {
        let done = self.done.as_deref()?;
        NOTICES
            .iter()
            .find(|notice| **notice == done)
            .map(|notice| lang.t(&format!("op-done-{notice}")))
    }
}

/// A redirect to a console page with its notice.
pub(super) fn done(path: &str, notice: &'static str) -> Response {
    Redirect::to(&format!("{path}?done={notice}")).into_response()
}

/// A time as the console shows it: `YYYY-MM-DD HH:MM:SS` UTC.
pub fn when(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.millis())
        .map(|time| time.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A page's HTML with its status and cookies.
pub(super) fn answer(
    context: &PageContext,
    status: StatusCode,
    html: Result<Html<String>, ApiError>,
) -> Result<Response, PageError> {
    let html = html.map_err(|err| context.error(err))?;
    Ok((status, context.jar(), html).into_response())
}

/// A secret shown once: what it is, the value, and what to do with it.
pub struct ShownOnce {
    pub title: String,
    pub value: String,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct OverviewPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    partners: usize,
    pending_reports: usize,
    failed_deliveries: usize,
    methodology: String,
}

/// How many of a list the overview counts at most.
const OVERVIEW_COUNT_MAX: u32 = 500;

async fn overview(
    State(state): State<AppState>,
    context: PageContext,
) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let counts = async {
        let partners = state.store.partners().await?.len();
        let pending = review_queue(&state, true, OVERVIEW_COUNT_MAX).await?.len();
        let failed = delivery_log(
            &state,
            &DeliveryFilter {
                endpoint_id: None,
                status: Some(DeliveryStatus::Failed),
                limit: OVERVIEW_COUNT_MAX,
            },
        )
        .await?
        .len();
        Ok::<_, ApiError>((partners, pending, failed))
    }
    .await
    .map_err(|err| context.error(err))?;
    let energy = state.energy.current();
    let page = OverviewPage {
        page: context.layout(),
        sections: sections(context.lang, "/admin"),
        notice: None,
        shown_once: None,
        partners: counts.0,
        pending_reports: counts.1,
        failed_deliveries: counts.2,
        methodology: format!(
            "{} v{}",
            energy.methodology.name(),
            energy.methodology.version()
        ),
    };
    answer(&context, StatusCode::OK, render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_field_names_become_form_fields() {
        assert_eq!(form_field("allowed_actions[2]"), "allowed_actions");
        assert_eq!(form_field("site.latitude"), "latitude");
        assert_eq!(form_field("name"), "name");
        assert_eq!(label_key("seasons"), "op-field-season");
    }

    #[test]
    fn only_known_notices_are_shown() {
        let done = Done {
            done: Some("partner-created".into()),
        };
        assert!(done.notice(Lang::En).is_some());
        let forged = Done {
            done: Some("you-won".into()),
        };
        assert_eq!(forged.notice(Lang::En), None);
    }

    #[test]
    fn a_refusal_names_the_field_and_keeps_what_was_typed() {
        let refusal = refusal(
            Lang::En,
            "partner",
            "allowed_actions[0]",
            "the methodology has no action \"x\"",
            Fields(vec![("name".into(), "Buses <b>".into())]),
        );
        assert!(refusal.invalid("partner", "allowed_actions"));
        assert!(!refusal.invalid("ngo", "allowed_actions"));
        assert_eq!(refusal.value("partner", "name"), "Buses <b>");
        assert_eq!(refusal.value("ngo", "name"), "");
        let message = refusal.message("partner").unwrap_or_default();
        assert!(message.contains("Allowed action types"), "{message}");
    }
}
