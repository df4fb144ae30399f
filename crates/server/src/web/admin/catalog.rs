//! `/admin/catalog`: NGOs, their sites and the catalog of trees and land. Add an NGO, let a
//! registered user sign in to its portal (by handle), issue its API key (shown once), add a
//! site and a catalog item.

use super::{
    Done, Fields, Refusal, Section, ShownOnce, admin_of, answer, done, number_of, refusal, refused,
    sections, when,
};
use crate::error::ApiError;
use crate::routes::catalog::{
    NewCatalogItem, NewNgo, NewSite, SeasonView, add_member as add_ngo_member,
    issue_ngo_key as issue_key, new_item, new_ngo, new_site,
};
use crate::state::AppState;
use crate::web::context::{Layout, PageContext, PageError, render};
use crate::web::i18n::Lang;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;
use uuid::Uuid;

const PATH: &str = "/admin/catalog";

pub struct NgoRow {
    pub ngo_id: String,
    pub name: String,
    pub about: String,
    pub created_at: String,
}

pub struct SiteRow {
    pub site_id: String,
    pub name: String,
    pub ngo: String,
    pub region: String,
    pub coordinates: String,
}

pub struct ItemRow {
    pub kind: String,
    pub name: String,
    pub scientific_name: String,
    pub site: String,
    pub price: String,
    pub quota: String,
    pub demo_values: bool,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "admin_catalog.html")]
struct CatalogPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    refusal: Refusal,
    ngos: Vec<NgoRow>,
    sites: Vec<SiteRow>,
    items: Vec<ItemRow>,
    kinds: Vec<Choice>,
    months: Vec<Choice>,
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
    let (ngos, sites, items) = async {
        Ok::<_, ApiError>((
            state.store.ngos().await?,
            state.store.sites().await?,
            state.store.catalog().await?,
        ))
    }
    .await
    .map_err(|err| context.error(err))?;
    let ngo_names: HashMap<_, _> = ngos
        .iter()
        .map(|ngo| (ngo.ngo_id, ngo.name.clone()))
        .collect();
    let site_names: HashMap<_, _> = sites
        .iter()
        .map(|site| (site.site_id, site.name.clone()))
        .collect();
    let page = CatalogPage {
        page: context.layout(),
        sections: sections(lang, PATH),
        notice,
        shown_once,
        refusal,
        sites: sites
            .iter()
            .map(|site| SiteRow {
                site_id: site.site_id.uuid().to_string(),
                name: site.name.clone(),
                ngo: ngo_names.get(&site.ngo_id).cloned().unwrap_or_default(),
                region: site.region.clone(),
                coordinates: format!("{:.4}, {:.4}", site.latitude, site.longitude),
            })
            .collect(),
        ngos: ngos
            .into_iter()
            .map(|ngo| NgoRow {
                ngo_id: ngo.ngo_id.uuid().to_string(),
                name: ngo.name,
                about: ngo.about,
                created_at: when(ngo.created_at),
            })
            .collect(),
        items: items
            .into_iter()
            .map(|item| {
                let land = item.kind == openforest_core::planting::ItemKind::Land;
                ItemRow {
                    kind: lang.t(if land { "op-kind-land" } else { "op-kind-tree" }),
                    name: item.name.clone(),
                    scientific_name: item.scientific_name.clone().unwrap_or_default(),
                    site: site_names.get(&item.site_id).cloned().unwrap_or_default(),
                    price: lang.t1(
                        if land {
                            "op-price-per-m2"
                        } else {
                            "op-price-per-tree"
                        },
                        "grams",
                        item.unit_grams.get(),
                    ),
                    quota: lang.tn(
                        "op-quota-left",
                        vec![
                            ("left", item.units_left().into()),
                            ("quota", item.quota_units.into()),
                        ],
                    ),
                    demo_values: item.demo_values,
                }
            })
            .collect(),
        kinds: ["tree", "land"]
            .into_iter()
            .map(|kind| Choice {
                value: kind.into(),
                label: lang.t(&format!("op-kind-{kind}")),
            })
            .collect(),
        months: (1..=12)
            .map(|month: u32| Choice {
                value: month.to_string(),
                label: lang.t1("op-month", "month", month),
            })
            .collect(),
    };
    answer(context, status, render(&page))
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

/// The posted form after the CSRF and admin checks, or the answer to give instead.
async fn admitted(
    context: &PageContext,
    fields: Vec<(String, String)>,
) -> Result<Result<Fields, Box<Response>>, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    Ok(admin_of(context).map(|_| fields))
}

/// Shows the page again with `refusal`.
async fn again(
    state: &AppState,
    context: &PageContext,
    refusal: Refusal,
) -> Result<Response, PageError> {
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

/// The API's refusal of `form`, or the error page.
async fn refuse(
    state: &AppState,
    context: &PageContext,
    form: &'static str,
    err: ApiError,
    missing_field: &str,
    fields: Fields,
) -> Result<Response, PageError> {
    let refusal = refused(context.lang, form, err, missing_field, fields)
        .map_err(|err| context.error(err))?;
    again(state, context, refusal).await
}

/// The NGO or site chosen in a select, or a refusal naming it.
fn chosen(lang: Lang, fields: &Fields, field: &str) -> Result<Uuid, String> {
    Uuid::parse_str(fields.get(field).trim()).map_err(|_| lang.t("op-error-choose"))
}

pub async fn create_ngo(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = match admitted(&context, fields).await? {
        Ok(fields) => fields,
        Err(response) => return Ok(*response),
    };
    let request = NewNgo {
        name: fields.get("name").to_string(),
        about: fields.get("about").to_string(),
    };
    match new_ngo(&state, &request).await {
        Ok(_) => Ok(done(PATH, "ngo-created")),
        Err(err) => refuse(&state, &context, "ngo", err, "name", fields).await,
    }
}

pub async fn add_member(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = match admitted(&context, fields).await? {
        Ok(fields) => fields,
        Err(response) => return Ok(*response),
    };
    let lang = context.lang;
    let ngo_id = match chosen(lang, &fields, "ngo_id") {
        Ok(ngo_id) => ngo_id,
        Err(detail) => {
            return again(
                &state,
                &context,
                refusal(lang, "member", "ngo_id", &detail, fields),
            )
            .await;
        }
    };
    match add_ngo_member(&state, ngo_id, fields.get("handle")).await {
        Ok(()) => Ok(done(PATH, "member-added")),
        Err(ApiError::NotFound("ngo")) => {
            let detail = lang.t("op-error-not-found");
            again(
                &state,
                &context,
                refusal(lang, "member", "ngo_id", &detail, fields),
            )
            .await
        }
        Err(err) => refuse(&state, &context, "member", err, "handle", fields).await,
    }
}

pub async fn issue_ngo_key(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = match admitted(&context, fields).await? {
        Ok(fields) => fields,
        Err(response) => return Ok(*response),
    };
    let lang = context.lang;
    let ngo_id = match chosen(lang, &fields, "ngo_id") {
        Ok(ngo_id) => ngo_id,
        Err(detail) => {
            return again(
                &state,
                &context,
                refusal(lang, "ngo-key", "ngo_id", &detail, fields),
            )
            .await;
        }
    };
    match issue_key(&state, ngo_id, fields.get("name")).await {
        Ok(created) => {
            let shown_once = ShownOnce {
                title: lang.t1("op-ngo-key-issued", "name", created.name.clone()),
                value: created.key,
                hint: lang.t("op-ngo-key-hint"),
            };
            show(
                &state,
                &context,
                StatusCode::CREATED,
                None,
                Some(shown_once),
                Refusal::default(),
            )
            .await
        }
        Err(err) => refuse(&state, &context, "ngo-key", err, "ngo_id", fields).await,
    }
}

pub async fn create_site(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = match admitted(&context, fields).await? {
        Ok(fields) => fields,
        Err(response) => return Ok(*response),
    };
    let lang = context.lang;
    let ngo_id = match chosen(lang, &fields, "ngo_id") {
        Ok(ngo_id) => ngo_id,
        Err(detail) => {
            return again(
                &state,
                &context,
                refusal(lang, "site", "ngo_id", &detail, fields),
            )
            .await;
        }
    };
    let mut degrees = [0.0f64; 2];
    for (slot, field) in degrees.iter_mut().zip(["latitude", "longitude"]) {
        match number_of::<f64>(&fields, field) {
            Some(value) => *slot = value,
            None => {
                let detail = lang.t("op-error-degrees");
                return again(
                    &state,
                    &context,
                    refusal(lang, "site", field, &detail, fields),
                )
                .await;
            }
        }
    }
    let request = NewSite {
        ngo_id,
        name: fields.get("name").to_string(),
        region: fields.get("region").to_string(),
        latitude: degrees[0],
        longitude: degrees[1],
        polygon: None,
    };
    match new_site(&state, request).await {
        Ok(_) => Ok(done(PATH, "site-created")),
        Err(err) => refuse(&state, &context, "site", err, "ngo_id", fields).await,
    }
}

pub async fn create_item(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = match admitted(&context, fields).await? {
        Ok(fields) => fields,
        Err(response) => return Ok(*response),
    };
    let lang = context.lang;
    let site_id = match chosen(lang, &fields, "site_id") {
        Ok(site_id) => site_id,
        Err(detail) => {
            return again(
                &state,
                &context,
                refusal(lang, "item", "site_id", &detail, fields),
            )
            .await;
        }
    };
    let mut numbers = [0u64; 2];
    for (slot, field) in numbers.iter_mut().zip(["unit_grams", "quota_units"]) {
        match number_of::<u64>(&fields, field) {
            Some(value) => *slot = value,
            None => {
                let detail = lang.t("op-error-whole-number");
                return again(
                    &state,
                    &context,
                    refusal(lang, "item", field, &detail, fields),
                )
                .await;
            }
        }
    }
    // One season may be given; a season's months are 1 to 12.
    let season_name = fields.get("season_name").trim().to_string();
    let seasons = if season_name.is_empty() {
        Vec::new()
    } else {
        match (
            number_of::<u8>(&fields, "season_from"),
            number_of::<u8>(&fields, "season_to"),
        ) {
            (Some(from_month), Some(to_month)) => vec![SeasonView {
                name: season_name,
                from_month,
                to_month,
            }],
            _ => {
                let detail = lang.t("op-error-months");
                return again(
                    &state,
                    &context,
                    refusal(lang, "item", "seasons", &detail, fields),
                )
                .await;
            }
        }
    };
    let scientific_name =
        Some(fields.get("scientific_name").trim().to_string()).filter(|name| !name.is_empty());
    let request = NewCatalogItem {
        kind: fields.get("kind").to_string(),
        name: fields.get("name").to_string(),
        scientific_name,
        site_id,
        unit_grams: numbers[0],
        quota_units: numbers[1],
        seasons,
        about: fields.get("about").to_string(),
        demo_values: !fields.get("demo_values").is_empty(),
    };
    match new_item(&state, request).await {
        Ok(_) => Ok(done(PATH, "item-created")),
        Err(err) => refuse(&state, &context, "item", err, "site_id", fields).await,
    }
}
