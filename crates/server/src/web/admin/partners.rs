//! `/admin/partners`: partners, the action types they may report, and their signing keys.
//! A key is registered from its public half; left empty, the console makes an Ed25519 key
//! pair, registers the public key and shows the private key once (it is kept nowhere). To
//! rotate: add the new key, let the partner switch, revoke the old one.

use super::{
    Done, Fields, Refusal, Section, ShownOnce, admin_of, answer, done, refused, sections, uuid_of,
    when,
};
use crate::routes::partners_admin::{new_partner, register_key, revoke, set_disabled};
use crate::state::AppState;
use crate::web::context::{Layout, PageContext, PageError, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use openforest_client::signature::SigningKey;

const PATH: &str = "/admin/partners";

pub struct PartnerCard {
    pub partner_id: String,
    pub name: String,
    pub allowed_actions: String,
    pub disabled: bool,
    pub created_at: String,
    pub keys: Vec<KeyRow>,
}

pub struct KeyRow {
    pub key_id: String,
    /// Where its revoke form posts (the key id percent-encoded).
    pub revoke_path: String,
    pub public_key: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

pub struct ActionChoice {
    pub key: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "admin_partners.html")]
struct PartnersPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    refusal: Refusal,
    partners: Vec<PartnerCard>,
    actions: Vec<ActionChoice>,
}

async fn show(
    state: &AppState,
    context: &PageContext,
    status: StatusCode,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    refusal: Refusal,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let cards = async {
        let mut cards = Vec::new();
        for partner in state.store.partners().await? {
            let keys = state.store.partner_keys(partner.partner_id).await?;
            cards.push(PartnerCard {
                partner_id: partner.partner_id.uuid().to_string(),
                name: partner.name,
                allowed_actions: partner.allowed_actions.join(", "),
                disabled: partner.disabled_at.is_some(),
                created_at: when(partner.created_at),
                keys: keys
                    .into_iter()
                    .map(|key| KeyRow {
                        revoke_path: format!(
                            "{PATH}/{}/keys/{}/revoke",
                            partner.partner_id.uuid(),
                            percent_encoded(&key.key_id)
                        ),
                        key_id: key.key_id,
                        public_key: key.public_key,
                        created_at: when(key.created_at),
                        revoked_at: key.revoked_at.map(when),
                    })
                    .collect(),
            });
        }
        Ok::<_, crate::error::ApiError>(cards)
    }
    .await
    .map_err(|err| context.error(err))?;
    let energy = state.energy.current();
    let page = PartnersPage {
        page: context.layout(),
        sections: sections(lang, PATH),
        notice,
        shown_once,
        refusal,
        partners: cards,
        actions: energy
            .methodology
            .actions()
            .iter()
            .map(|rule| ActionChoice {
                key: rule.key().as_str().to_string(),
                title: lang.action(rule.key().as_str(), &energy.methodology),
            })
            .collect(),
    };
    answer(context, status, render(&page))
}

/// A path segment: every byte but letters, digits, `-`, `_`, `.` and `~` percent-encoded.
fn percent_encoded(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let notice = done.notice(context.lang);
    show(
        &state,
        &context,
        StatusCode::OK,
        notice,
        None,
        Refusal::default(),
    )
    .await
}

async fn refuse(
    state: &AppState,
    context: &PageContext,
    form: &'static str,
    err: crate::error::ApiError,
    missing_field: &str,
    fields: Fields,
) -> Result<Response, PageError> {
    let refusal = refused(context.lang, form, err, missing_field, fields)
        .map_err(|err| context.error(err))?;
    show(
        state,
        context,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        None,
        refusal,
    )
    .await
}

/// Creates a partner allowed the ticked action types.
pub async fn create(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    match new_partner(&state, fields.get("name"), fields.all("allowed_actions")).await {
        Ok(_) => Ok(done(PATH, "partner-created")),
        Err(err) => refuse(&state, &context, "partner", err, "name", fields).await,
    }
}

/// Registers a partner's key: the public key given, or a new key pair whose private half is
/// shown once.
pub async fn add_key(
    State(state): State<AppState>,
    context: PageContext,
    Path(partner_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let partner_id = uuid_of(&context, &partner_id)?;
    let given = fields.get("public_key").trim();
    let (public_key, generated) = if given.is_empty() {
        let signing = SigningKey::generate();
        let public = signing.verifying_key().to_base64();
        (public, Some(signing))
    } else {
        (given.to_string(), None)
    };
    match register_key(&state, partner_id, fields.get("key_id"), &public_key).await {
        Ok(key) => match generated {
            Some(signing) => {
                let lang = context.lang;
                let shown_once = ShownOnce {
                    title: lang.t1("op-key-generated", "key_id", key.key_id.clone()),
                    value: signing.expose_pkcs8_pem(),
                    hint: lang.t("op-key-generated-hint"),
                };
                show(
                    &state,
                    &context,
                    StatusCode::CREATED,
                    Some(lang.t("op-done-key-added")),
                    Some(shown_once),
                    Refusal::default(),
                )
                .await
            }
            None => Ok(done(PATH, "key-added")),
        },
        // The key form carries its partner's id, so the refusal shows under that partner.
        Err(err) => refuse(&state, &context, "key", err, "key_id", fields).await,
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    context: PageContext,
    Path((partner_id, key_id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let partner_id = uuid_of(&context, &partner_id)?;
    revoke(&state, partner_id, &key_id)
        .await
        .map_err(|err| context.error(err))?;
    Ok(done(PATH, "key-revoked"))
}

async fn switch(
    state: AppState,
    context: PageContext,
    partner_id: String,
    fields: Vec<(String, String)>,
    disabled: bool,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let partner_id = uuid_of(&context, &partner_id)?;
    set_disabled(&state, partner_id, disabled)
        .await
        .map_err(|err| context.error(err))?;
    Ok(done(
        PATH,
        if disabled {
            "partner-disabled"
        } else {
            "partner-enabled"
        },
    ))
}

pub async fn disable(
    State(state): State<AppState>,
    context: PageContext,
    Path(partner_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    switch(state, context, partner_id, fields, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    context: PageContext,
    Path(partner_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    switch(state, context, partner_id, fields, false).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_ids_are_percent_encoded_in_paths() {
        assert_eq!(super::percent_encoded("buses-2025.a"), "buses-2025.a");
        assert_eq!(super::percent_encoded("a/b c"), "a%2Fb%20c");
    }
}
