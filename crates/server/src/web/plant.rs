//! Planting: the catalog (each species or land offer with a picture drawn from its data, its
//! cost, site, NGO, seasons and quota left), planting from my wallet, and my co-planting
//! groups (create, invite, join by code, leave, feed the pot, plant from the pot). Every form
//! is a plain POST with the CSRF token; it calls the same functions the API's handlers do.
//! A refusal (not enough energy, sold out, the daily pot cap…) comes back as the page with
//! the reason in words; success goes on to the certificate or back here with a notice.

use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use crate::auth::Secret;
use crate::error::ApiError;
use crate::routes::catalog::{ItemView, catalog_views};
use crate::routes::groups::{
    GroupView, KINDS, NewGroup, create_group, feed_group_pot, groups_of, invite_member, join_group,
    leave_group,
};
use crate::routes::planting::{PlantRequest, PledgedView, pledge, pledge_from_pot};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openforest_core::planting::{PlantSource, SQUARE_METRES_PER_PLEDGE_MAX, TREES_PER_PLEDGE_MAX};
use openforest_store::{IdempotencyKey, User};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use svg::Document;
use svg::node::element::{Circle, Ellipse, Path as SvgPath, Polygon, Rectangle, Title};
use uuid::Uuid;

#[derive(Template)]
#[template(path = "plant.html")]
struct PlantPage {
    page: Layout,
    wallet_text: String,
    notice: Option<String>,
    error: Option<String>,
    items: Vec<ItemCard>,
    groups: Vec<GroupCard>,
    /// A fresh token per page: the same form sent twice plants once.
    request: String,
    kinds: Vec<Choice>,
    /// What a pot can plant (not sold out).
    plantable: Vec<Choice>,
}

struct Choice {
    value: String,
    label: String,
}

struct ItemCard {
    item_id: Uuid,
    name: String,
    scientific_name: Option<String>,
    land: bool,
    art: String,
    cost_text: String,
    ngo_text: String,
    site_text: String,
    seasons_text: String,
    left_text: String,
    sold_out: bool,
    demo: bool,
    about: String,
    button_text: String,
    units_max: u64,
}

struct GroupCard {
    group_id: Uuid,
    name: String,
    kind_text: String,
    pot_text: String,
    share_text: String,
    members: Vec<MemberLine>,
}

struct MemberLine {
    handle: String,
    share_text: String,
}

fn kind_label(lang: Lang, kind: &str) -> String {
    lang.t(&format!("plant-group-kind-{kind}"))
}

/// A small picture of the item drawn from its data: a tree whose crown's shape and green come
/// from its scientific name, or a patch of protected land. Numbers and fixed colours only go
/// into attributes; the title (a name) is a text node, which the `svg` crate escapes.
pub(super) fn item_art(item: &ItemView, title: &str) -> String {
    let seed: [u8; 32] = Sha256::digest(
        item.scientific_name
            .as_deref()
            .unwrap_or(&item.name)
            .as_bytes(),
    )
    .into();
    const GREENS: [&str; 5] = ["#2f855a", "#276749", "#38a169", "#3c7d4f", "#4d8c3a"];
    let green = GREENS[usize::from(seed[0]) % GREENS.len()];
    let mut document = Document::new()
        .set("viewBox", (0, 0, 120, 90))
        .set("class", "item-art")
        .set("role", "img")
        .add(Title::new(title))
        .add(
            Rectangle::new()
                .set("width", 120)
                .set("height", 90)
                .set("fill", "#e6f4ea"),
        );
    if item.kind == "land" {
        document = document.add(
            Ellipse::new()
                .set("cx", 60)
                .set("cy", 66)
                .set("rx", 56)
                .set("ry", 20)
                .set("fill", "#b7dfb9"),
        );
        // Small shrubs across the protected patch, placed by the seed.
        for n in 0..6 {
            let x = 18 + (usize::from(seed[n + 1]) % 84);
            let y = 58 + (usize::from(seed[n + 7]) % 16);
            document = document.add(
                Circle::new()
                    .set("cx", x)
                    .set("cy", y)
                    .set("r", 5 + usize::from(seed[n + 13]) % 4)
                    .set("fill", green),
            );
        }
        document = document.add(
            SvgPath::new()
                .set("d", "M8 70 Q60 40 112 70")
                .set("fill", "none")
                .set("stroke", "#14532d")
                .set("stroke-width", 2)
                .set("stroke-dasharray", "4 3"),
        );
        return document.to_string();
    }
    let height = 30 + usize::from(seed[1]) % 16;
    document = document
        .add(
            Ellipse::new()
                .set("cx", 60)
                .set("cy", 82)
                .set("rx", 40)
                .set("ry", 6)
                .set("fill", "#b7dfb9"),
        )
        .add(
            Rectangle::new()
                .set("x", 56)
                .set("y", 82 - height)
                .set("width", 8)
                .set("height", height)
                .set("rx", 2)
                .set("fill", "#7c4a22"),
        );
    let top = 82 - height;
    match seed[2] % 3 {
        // A conifer: stacked triangles.
        0 => {
            for (n, width) in [34usize, 28, 20].into_iter().enumerate() {
                let base = top + 14 - n * 12;
                let points = format!(
                    "{},{} {},{} {},{}",
                    60 - width / 2,
                    base + 8,
                    60 + width / 2,
                    base + 8,
                    60,
                    base.saturating_sub(14)
                );
                document = document.add(Polygon::new().set("points", points).set("fill", green));
            }
        }
        // A shrub: several low crowns.
        1 => {
            for (dx, dy, r) in [(-14i32, 6i32, 12u32), (14, 6, 12), (0, -2, 15)] {
                document = document.add(
                    Circle::new()
                        .set("cx", 60 + dx)
                        .set("cy", top as i32 + dy)
                        .set("r", r)
                        .set("fill", green),
                );
            }
        }
        // A broad crown.
        _ => {
            document = document.add(
                Ellipse::new()
                    .set("cx", 60)
                    .set("cy", top)
                    .set("rx", 26 + usize::from(seed[3]) % 8)
                    .set("ry", 18)
                    .set("fill", green),
            );
        }
    }
    document.to_string()
}

fn months(lang: Lang, from: u8, to: u8) -> String {
    lang.tn(
        "plant-season",
        vec![
            ("from", lang.t(&format!("plant-month-{from}")).into()),
            ("to", lang.t(&format!("plant-month-{to}")).into()),
        ],
    )
}

fn item_card(lang: Lang, item: &ItemView) -> ItemCard {
    let land = item.kind == "land";
    let unit_key = if land {
        "plant-unit-m2"
    } else {
        "plant-unit-tree"
    };
    let seasons_text = if item.seasons.is_empty() {
        lang.t("plant-season-any")
    } else {
        item.seasons
            .iter()
            .map(|season| {
                format!(
                    "{} ({})",
                    season.name,
                    months(lang, season.from_month, season.to_month)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let title = lang.t1("plant-art-alt", "name", item.name.clone());
    ItemCard {
        item_id: item.item_id,
        name: item.name.clone(),
        scientific_name: item.scientific_name.clone(),
        land,
        art: item_art(item, &title),
        cost_text: lang.tn(
            if land {
                "plant-cost-m2"
            } else {
                "plant-cost-tree"
            },
            vec![("grams", item.unit_grams.into())],
        ),
        ngo_text: item
            .ngo
            .as_ref()
            .map(|ngo| ngo.name.clone())
            .unwrap_or_default(),
        site_text: item
            .site
            .as_ref()
            .map(|site| format!("{}, {}", site.name, site.region))
            .unwrap_or_default(),
        seasons_text,
        left_text: lang.tn(
            "plant-left",
            vec![
                ("left", item.units_left.into()),
                ("quota", item.quota_units.into()),
                ("unit", lang.t(unit_key).into()),
            ],
        ),
        sold_out: item.units_left == 0,
        demo: item.demo_values,
        about: item.about.clone(),
        button_text: if land {
            lang.t("plant-protect")
        } else {
            lang.t1("plant-submit", "grams", item.unit_grams)
        },
        units_max: if land {
            SQUARE_METRES_PER_PLEDGE_MAX.min(item.units_left.max(1))
        } else {
            TREES_PER_PLEDGE_MAX
        },
    }
}

fn group_card(lang: Lang, me: &User, group: &GroupView) -> GroupCard {
    let mine = group
        .members
        .iter()
        .find(|member| member.user_id == me.user_id.uuid())
        .map_or(0, |member| member.share_grams);
    GroupCard {
        group_id: group.group_id,
        name: group.name.clone(),
        kind_text: kind_label(lang, &group.kind),
        pot_text: lang.t1("grams", "grams", group.pot_grams),
        share_text: lang.t1("grams", "grams", mine),
        members: group
            .members
            .iter()
            .filter(|member| member.left_at.is_none() || member.share_grams > 0)
            .map(|member| MemberLine {
                handle: member.handle.clone(),
                share_text: if member.left_at.is_some() {
                    lang.t1("plant-group-member-left", "grams", member.share_grams)
                } else {
                    lang.t1("grams", "grams", member.share_grams)
                },
            })
            .collect(),
    }
}

/// What happened, from the redirect after a form (only these words, never the query's).
const NOTICES: [&str; 5] = [
    "plant-group-created",
    "plant-group-invited",
    "plant-group-joined",
    "plant-group-left",
    "plant-group-fed",
];

#[derive(Debug, Deserialize)]
pub struct PlantQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn plant_page(
    state: &AppState,
    context: &PageContext,
    me: &User,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let fail = |err| context.error(err);
    let items = catalog_views(state).await.map_err(fail)?;
    let groups = groups_of(state, me.user_id).await.map_err(fail)?;
    let wallet = state
        .store
        .wallet(me.user_id)
        .await
        .map_err(|err| fail(err.into()))?;
    let page = PlantPage {
        page: context.layout(),
        wallet_text: lang.t1("grams", "grams", wallet.get()),
        notice,
        error,
        plantable: items
            .iter()
            .filter(|item| item.units_left > 0)
            .map(|item| Choice {
                value: item.item_id.to_string(),
                label: format!(
                    "{} · {}",
                    item.name,
                    lang.tn(
                        if item.kind == "land" {
                            "plant-cost-m2"
                        } else {
                            "plant-cost-tree"
                        },
                        vec![("grams", item.unit_grams.into())]
                    )
                ),
            })
            .collect(),
        items: items.iter().map(|item| item_card(lang, item)).collect(),
        groups: groups
            .iter()
            .map(|group| group_card(lang, me, group))
            .collect(),
        request: Secret::generate("web_").expose().to_string(),
        kinds: KINDS
            .iter()
            .map(|kind| Choice {
                value: (*kind).to_string(),
                label: kind_label(lang, kind),
            })
            .collect(),
    };
    let html = render(&page).map_err(fail)?;
    Ok((status, context.jar(), html).into_response())
}

/// `/plant`: the catalog and my groups (signed out: the sign-in page).
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<PlantQuery>,
) -> Result<Response, PageError> {
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let notice = query
        .done
        .as_deref()
        .and_then(|done| NOTICES.iter().find(|key| **key == done))
        .map(|key| context.lang.t(key));
    plant_page(&state, &context, &me, StatusCode::OK, notice, None).await
}

/// A refusal in words, or `None` for errors that are not the person's to fix (shown as the
/// error page).
fn refusal(lang: Lang, err: &ApiError) -> Option<(StatusCode, String)> {
    let key = match err {
        ApiError::InsufficientEnergy(_) => "plant-refused-energy",
        ApiError::GameRule { rule, .. } => match *rule {
            "insufficient_energy" => "plant-refused-energy",
            "quota_sold_out" => "plant-refused-sold-out",
            "daily_pot_cap" => "plant-refused-daily-pot-cap",
            "already_member" => "plant-refused-already-member",
            "group_full" => "plant-refused-group-full",
            _ => return None,
        },
        ApiError::InvalidField { field, .. } => match field.as_str() {
            "units" => "plant-refused-units",
            "item_id" => "plant-refused-item",
            "name" => "plant-refused-group-name",
            "kind" => "plant-refused-group-kind",
            "grams" => "plant-refused-grams",
            "handle" => "plant-refused-handle",
            "code" => "plant-refused-code",
            "request" => "plant-refused-request",
            _ => return None,
        },
        // The page's one-time token came back with another request (a form changed after
        // going back): a fresh page gets a fresh token.
        ApiError::IdempotencyConflict => "plant-refused-request",
        ApiError::NotFound("user with that handle") => "plant-refused-no-such-user",
        ApiError::NotFound("group") => "plant-refused-code",
        ApiError::NotFound("catalog item") => "plant-refused-item",
        ApiError::NotFound("membership") => "plant-refused-not-member",
        ApiError::Forbidden("join a group when invited") => "plant-refused-not-invited",
        ApiError::Forbidden(_) => "plant-refused-not-member",
        _ => return None,
    };
    let status = match err {
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::GameRule { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Some((status, lang.t(key)))
}

/// After a form: on to `to`, or the page again with the refusal, or the error page.
async fn answer(
    state: &AppState,
    context: &PageContext,
    me: &User,
    outcome: Result<String, ApiError>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(err) => match refusal(context.lang, &err) {
            Some((status, message)) => {
                plant_page(state, context, me, status, None, Some(message)).await
            }
            None => Err(context.error(err)),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct PlantForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    units: Option<String>,
    /// The page's one-time token: a second submission answers the first pledge.
    #[serde(default)]
    request: String,
}

impl PlantForm {
    fn plant_request(&self) -> Result<PlantRequest, ApiError> {
        let item_id = Uuid::parse_str(self.item_id.trim())
            .map_err(|_| ApiError::invalid("item_id", "choose an item of the catalog"))?;
        let units = match self.units.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| ApiError::invalid("units", "a whole number of units"))?,
            ),
        };
        Ok(PlantRequest { item_id, units })
    }

    /// The idempotency key and the fingerprint of what is asked (the item and units).
    fn idempotency(&self, request: &PlantRequest) -> Result<Option<(String, [u8; 32])>, ApiError> {
        let token = self.request.trim();
        if token.is_empty() {
            return Ok(None);
        }
        if token.len() > 128 || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ApiError::invalid(
                "request",
                "reload the page and try again",
            ));
        }
        let fingerprint = Sha256::digest(
            format!(
                "web-plant {} {}",
                request.item_id,
                request.units.unwrap_or(1)
            )
            .as_bytes(),
        )
        .into();
        Ok(Some((format!("web:{token}"), fingerprint)))
    }
}

fn certificate_path(pledged: &PledgedView) -> String {
    format!("/certificates/{}?planted=1", pledged.certificate_no)
}

/// Plants from my wallet, then shows the new certificate.
pub async fn plant(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<PlantForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let outcome = async {
        let request = form.plant_request()?;
        let idempotency = form
            .idempotency(&request)?
            .map(|(key, fingerprint)| IdempotencyKey {
                scope: format!("plant:{}", me.user_id),
                key,
                fingerprint,
            });
        let pledged = pledge(
            &state,
            me.user_id,
            request,
            PlantSource::Wallet,
            idempotency,
        )
        .await?;
        Ok(certificate_path(&pledged))
    }
    .await;
    answer(&state, &context, &me, outcome).await
}

/// Plants from a group's pot: every member's share pays its part.
pub async fn plant_from_pot(
    State(state): State<AppState>,
    context: PageContext,
    Path(group_id): Path<Uuid>,
    Form(form): Form<PlantForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let outcome = async {
        let request = form.plant_request()?;
        let idempotency = form.idempotency(&request)?;
        let pledged = pledge_from_pot(&state, me.user_id, group_id, request, idempotency).await?;
        Ok(certificate_path(&pledged))
    }
    .await;
    answer(&state, &context, &me, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

pub async fn create(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<GroupForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let request = NewGroup {
        name: form.name,
        kind: form.kind,
    };
    let outcome = create_group(&state, me.user_id, request)
        .await
        .map(|_| "/plant?done=plant-group-created#groups".to_string());
    answer(&state, &context, &me, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    code: String,
}

/// Joins a group I was invited to, by the code its members see (the group's id).
pub async fn join(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<JoinForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let outcome = async {
        let group_id = Uuid::parse_str(form.code.trim())
            .map_err(|_| ApiError::invalid("code", "a group code as its members see it"))?;
        join_group(&state, me.user_id, group_id).await?;
        Ok("/plant?done=plant-group-joined#groups".to_string())
    }
    .await;
    answer(&state, &context, &me, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    handle: String,
}

pub async fn invite(
    State(state): State<AppState>,
    context: PageContext,
    Path(group_id): Path<Uuid>,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let outcome = invite_member(&state, me.user_id, group_id, &form.handle)
        .await
        .map(|()| "/plant?done=plant-group-invited#groups".to_string());
    answer(&state, &context, &me, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct FeedForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    grams: String,
}

pub async fn feed(
    State(state): State<AppState>,
    context: PageContext,
    Path(group_id): Path<Uuid>,
    Form(form): Form<FeedForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let outcome = async {
        let grams = form
            .grams
            .trim()
            .parse::<u64>()
            .map_err(|_| ApiError::invalid("grams", "a whole number of grams"))?;
        feed_group_pot(&state, me.user_id, group_id, grams).await?;
        Ok("/plant?done=plant-group-fed#groups".to_string())
    }
    .await;
    answer(&state, &context, &me, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    csrf: Option<String>,
}

pub async fn leave(
    State(state): State<AppState>,
    context: PageContext,
    Path(group_id): Path<Uuid>,
    Form(form): Form<LeaveForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.clone() else {
        return Ok(context.to_signin());
    };
    let outcome = leave_group(&state, me.user_id, group_id)
        .await
        .map(|()| "/plant?done=plant-group-left#groups".to_string());
    answer(&state, &context, &me, outcome).await
}
