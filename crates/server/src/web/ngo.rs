//! The NGO portal, for users who sign in for an NGO (anyone else gets a 403 page): my NGO's
//! orders, one order with its pledges and batches, a form to record a planting batch with its
//! evidence (date, GPS point, optional GeoJSON polygon, count, note, a photo uploaded in the
//! same multipart form), and the verification queue where a second member verifies batches.
//! It calls the same functions as the API under `/v1/ngo`: another NGO's order is not found,
//! the photo is checked by its bytes and size, the recorder cannot verify their own batch.
//! Refusals come back as the form again with the field named.

use super::certificates::{coordinates, rings};
use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use super::map::{Place, draw};
use crate::auth::{NgoActor, NgoCaller};
use crate::error::ApiError;
use crate::routes::catalog::directory;
use crate::routes::ngo::{
    BatchView, GpsPoint, NewBatchRequest, OrderView, order_detail, order_views,
    record_planting_batch, store_photo, verify_ngo_batch,
};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openforest_core::{OrderId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The most fields a batch form has, and the longest text one of them may be (a polygon of
/// the API's 2,000 positions fits).
const FORM_FIELDS_MAX: usize = 16;
const TEXT_FIELD_BYTES_MAX: usize = 128 * 1024;

/// The signed-in user acting for their NGO; `None` when signed out (on to sign in), the 403
/// page for anyone who is no NGO's member.
async fn ngo_caller(
    state: &AppState,
    context: &PageContext,
) -> Result<Option<NgoCaller>, PageError> {
    let Some(me) = &context.user else {
        return Ok(None);
    };
    match state.store.ngo_of_member(me.user_id).await {
        Ok(Some(ngo_id)) => Ok(Some(NgoCaller {
            ngo_id,
            actor: NgoActor::User(me.user_id),
        })),
        Ok(None) => Err(PageError::new(
            context.lang,
            StatusCode::FORBIDDEN,
            "ngo-not-member",
        )),
        Err(err) => Err(context.error(err.into())),
    }
}

struct OrderCard {
    order_id: Uuid,
    season: String,
    created_on: String,
    lines: Vec<LineText>,
}

struct LineText {
    name: String,
    text: String,
}

struct BatchCard {
    batch_id: Uuid,
    order_id: Uuid,
    item_name: String,
    units_text: String,
    planted_on: String,
    place_text: String,
    recorded_by: String,
    verified: bool,
    status_text: String,
    /// Recorded by the person looking: someone else must verify it.
    mine: bool,
    photos: Vec<String>,
    note: String,
}

fn order_card(lang: Lang, order: &OrderView) -> OrderCard {
    OrderCard {
        order_id: order.order_id,
        season: order.season.clone(),
        created_on: super::certificates::day(&order.created_at),
        lines: order
            .lines
            .iter()
            .map(|line| LineText {
                name: line.item_name.clone(),
                text: lang.tn(
                    "ngo-line",
                    vec![
                        ("pledges", line.pledges.into()),
                        ("units", line.units.into()),
                        ("planted", line.planted_units.into()),
                        ("verified", line.verified_units.into()),
                    ],
                ),
            })
            .collect(),
    }
}

/// Who recorded or verified: a member's handle, or the NGO's API key.
fn actor_name(lang: Lang, label: &str, handles: &HashMap<UserId, String>) -> String {
    match label.split_once(':') {
        Some(("user", id)) => Uuid::parse_str(id)
            .ok()
            .and_then(|id| handles.get(&UserId(id)).cloned())
            .unwrap_or_else(|| label.to_string()),
        Some(("key", _)) => lang.t("ngo-api-key"),
        _ => label.to_string(),
    }
}

async fn actor_handles(
    state: &AppState,
    batches: &[BatchView],
) -> Result<HashMap<UserId, String>, ApiError> {
    let ids: Vec<UserId> = batches
        .iter()
        .flat_map(|batch| [Some(&batch.recorded_by), batch.verified_by.as_ref()])
        .flatten()
        .filter_map(|label| label.strip_prefix("user:"))
        .filter_map(|id| Uuid::parse_str(id).ok().map(UserId))
        .collect();
    Ok(state.store.handles(&ids).await?)
}

fn batch_card(
    lang: Lang,
    me: &NgoCaller,
    batch: &BatchView,
    item_names: &HashMap<Uuid, String>,
    handles: &HashMap<UserId, String>,
) -> BatchCard {
    let verified = batch.verified_at.is_some();
    BatchCard {
        batch_id: batch.batch_id,
        order_id: batch.order_id,
        item_name: item_names.get(&batch.item_id).cloned().unwrap_or_default(),
        units_text: lang.t1("ngo-units", "count", batch.units),
        planted_on: batch.planted_on.clone(),
        place_text: coordinates(lang, batch.latitude, batch.longitude),
        recorded_by: actor_name(lang, &batch.recorded_by, handles),
        verified,
        status_text: lang.t(if verified {
            "cert-status-verified"
        } else {
            "cert-status-planted"
        }),
        mine: batch.recorded_by == me.actor.label(),
        photos: batch
            .photos
            .iter()
            .map(|sha| format!("/v1/photos/{sha}"))
            .collect(),
        note: batch.note.clone(),
    }
}

async fn ngo_name(state: &AppState, caller: &NgoCaller) -> Result<String, ApiError> {
    let (ngos, _) = directory(state).await?;
    Ok(ngos
        .get(&caller.ngo_id)
        .map(|ngo| ngo.name.clone())
        .unwrap_or_default())
}

#[derive(Template)]
#[template(path = "ngo.html")]
struct NgoPage {
    page: Layout,
    ngo_name: String,
    notice: Option<String>,
    error: Option<String>,
    orders: Vec<OrderCard>,
    queue: Vec<BatchCard>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

fn notice(lang: Lang, done: Option<&str>) -> Option<String> {
    match done {
        Some("verified") => Some(lang.t("ngo-verified")),
        Some("recorded") => Some(lang.t("ngo-recorded")),
        _ => None,
    }
}

async fn portal(
    state: &AppState,
    context: &PageContext,
    caller: &NgoCaller,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let fail = |err| context.error(err);
    let orders = order_views(state, Some(caller.ngo_id))
        .await
        .map_err(fail)?;
    let item_names: HashMap<Uuid, String> = orders
        .iter()
        .flat_map(|order| &order.lines)
        .map(|line| (line.item_id, line.item_name.clone()))
        .collect();
    let mut waiting = Vec::new();
    for order in &orders {
        let batches = state
            .store
            .batches(OrderId(order.order_id))
            .await
            .map_err(|err| fail(err.into()))?;
        waiting.extend(
            batches
                .iter()
                .filter(|batch| batch.verified_at.is_none())
                .map(BatchView::from),
        );
    }
    let handles = actor_handles(state, &waiting).await.map_err(fail)?;
    let page = NgoPage {
        page: context.layout(),
        ngo_name: ngo_name(state, caller).await.map_err(fail)?,
        notice,
        error,
        orders: orders.iter().map(|order| order_card(lang, order)).collect(),
        queue: waiting
            .iter()
            .map(|batch| batch_card(lang, caller, batch, &item_names, &handles))
            .collect(),
    };
    let html = render(&page).map_err(fail)?;
    Ok((status, context.jar(), html).into_response())
}

/// `/ngo`: my NGO's orders and the verification queue.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let Some(caller) = ngo_caller(&state, &context).await? else {
        return Ok(context.to_signin());
    };
    let notice = notice(context.lang, query.done.as_deref());
    portal(&state, &context, &caller, StatusCode::OK, notice, None).await
}

/// What was typed into the batch form, shown again after a refusal.
#[derive(Default)]
struct BatchForm {
    csrf: Option<String>,
    item_id: String,
    units: String,
    planted_on: String,
    latitude: String,
    longitude: String,
    polygon: String,
    note: String,
    /// The file's declared type and bytes, when one was chosen.
    photo: Option<(String, Vec<u8>)>,
    /// The file was larger than allowed (its bytes were not all read).
    photo_too_large: bool,
}

/// A refusal naming its field: the input's id and the words.
struct FieldError {
    field: &'static str,
    text: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct PledgeLine {
    number: String,
    item_name: String,
    units_text: String,
    status_text: String,
}

#[derive(Template)]
#[template(path = "ngo_order.html")]
struct OrderPage {
    page: Layout,
    ngo_name: String,
    notice: Option<String>,
    order: OrderCard,
    pledges: Vec<PledgeLine>,
    batches: Vec<BatchCard>,
    items: Vec<Choice>,
    form: BatchForm,
    error: Option<FieldError>,
    map: String,
    today: String,
    photo_hint: String,
}

impl OrderPage {
    /// Whether the refusal is about this input (for `aria-invalid`).
    fn invalid(&self, field: &str) -> bool {
        self.error
            .as_ref()
            .is_some_and(|error| error.field == field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn order_page(
    state: &AppState,
    context: &PageContext,
    caller: &NgoCaller,
    order_id: Uuid,
    status: StatusCode,
    notice: Option<String>,
    form: BatchForm,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let fail = |err| context.error(err);
    let detail = order_detail(state, caller, order_id).await.map_err(fail)?;
    let item_names: HashMap<Uuid, String> = detail
        .order
        .lines
        .iter()
        .map(|line| (line.item_id, line.item_name.clone()))
        .collect();
    let handles = actor_handles(state, &detail.batches).await.map_err(fail)?;
    let (_, sites) = directory(state).await.map_err(fail)?;
    let mut places = Vec::new();
    let mut areas = Vec::new();
    if let Some(site) = sites.get(&openforest_core::SiteId(detail.order.site_id)) {
        // The batches lie in the site: its point only while there are none.
        if detail.batches.is_empty() {
            places.push(Place {
                latitude: site.latitude,
                longitude: site.longitude,
                label: site.name.clone(),
            });
        }
        if let Some(polygon) = crate::geo::polygon_json(site.polygon.as_deref()) {
            areas.extend(rings(Some(&polygon)));
        }
    }
    for batch in &detail.batches {
        places.push(Place {
            latitude: batch.latitude,
            longitude: batch.longitude,
            label: batch.planted_on.clone(),
        });
        areas.extend(rings(batch.polygon.as_ref()));
    }
    let now = state.clock.now();
    let today = chrono::DateTime::from_timestamp_millis(now.millis())
        .unwrap_or_default()
        .with_timezone(&state.energy.current().timezone)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let mut form = form;
    if form.planted_on.is_empty() {
        form.planted_on = today.clone();
    }
    let selected = form.item_id.clone();
    let page = OrderPage {
        page: context.layout(),
        ngo_name: ngo_name(state, caller).await.map_err(fail)?,
        notice,
        items: detail
            .order
            .lines
            .iter()
            .filter(|line| line.units > line.planted_units)
            .map(|line| Choice {
                value: line.item_id.to_string(),
                label: lang.tn(
                    "ngo-item-choice",
                    vec![
                        ("name", line.item_name.clone().into()),
                        ("left", line.units.saturating_sub(line.planted_units).into()),
                    ],
                ),
                selected: line.item_id.to_string() == selected,
            })
            .collect(),
        pledges: detail
            .pledges
            .iter()
            .map(|pledge| PledgeLine {
                number: pledge.certificate_no.clone(),
                item_name: item_names.get(&pledge.item_id).cloned().unwrap_or_default(),
                units_text: lang.t1("ngo-units", "count", pledge.units),
                status_text: super::certificates::status_text(lang, &pledge.status),
            })
            .collect(),
        batches: detail
            .batches
            .iter()
            .map(|batch| batch_card(lang, caller, batch, &item_names, &handles))
            .collect(),
        order: order_card(lang, &detail.order),
        form,
        error,
        map: draw(
            &places,
            &areas,
            &lang.t1("ngo-map-title", "season", detail.order.season.clone()),
        ),
        today,
        photo_hint: lang.t1(
            "ngo-batch-photo-hint",
            "megabytes",
            state.config.planting.photo_bytes_max / (1024 * 1024),
        ),
    };
    let html = render(&page).map_err(fail)?;
    Ok((status, context.jar(), html).into_response())
}

/// `/ngo/orders/{order_id}`: one order of my NGO (another NGO's: not found).
pub async fn order(
    State(state): State<AppState>,
    context: PageContext,
    Path(order_id): Path<Uuid>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let Some(caller) = ngo_caller(&state, &context).await? else {
        return Ok(context.to_signin());
    };
    let notice = notice(context.lang, query.done.as_deref());
    order_page(
        &state,
        &context,
        &caller,
        order_id,
        StatusCode::OK,
        notice,
        BatchForm::default(),
        None,
    )
    .await
}

/// Reads the multipart batch form, each field within its limit; stops at an oversized photo
/// (it comes last in the form, so the rest is read by then).
async fn read_form(mut multipart: Multipart, photo_max: usize) -> Result<BatchForm, ApiError> {
    let mut form = BatchForm::default();
    let malformed = |_| ApiError::invalid("form", "the form could not be read; send it again");
    let mut fields = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        fields += 1;
        if fields > FORM_FIELDS_MAX {
            return Err(ApiError::invalid("form", "too many fields"));
        }
        let name = field.name().unwrap_or_default().to_string();
        let limit = if name == "photo" {
            photo_max
        } else {
            TEXT_FIELD_BYTES_MAX
        };
        let declared = field
            .content_type()
            .map(|value| value.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let chosen = field.file_name().is_some_and(|file| !file.is_empty());
        let mut bytes = Vec::new();
        let mut too_large = false;
        // What is over the limit is read and dropped, up to as much again, so the browser
        // gets its answer rather than a closed connection; beyond that the reading stops.
        let mut dropped = 0usize;
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if too_large || bytes.len() + chunk.len() > limit {
                too_large = true;
                dropped += chunk.len();
                if dropped > limit {
                    break;
                }
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "photo" {
            if too_large {
                form.photo_too_large = true;
                return Ok(form);
            }
            if chosen || !bytes.is_empty() {
                form.photo = Some((declared, bytes));
            }
            continue;
        }
        if too_large {
            return Err(ApiError::invalid(
                "form",
                format!("{name} is longer than {TEXT_FIELD_BYTES_MAX} bytes"),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid("form", "the form's text is not UTF-8"))?;
        match name.as_str() {
            "csrf" => form.csrf = Some(text),
            "item_id" => form.item_id = text,
            "units" => form.units = text,
            "planted_on" => form.planted_on = text,
            "latitude" => form.latitude = text,
            "longitude" => form.longitude = text,
            "polygon" => form.polygon = text,
            "note" => form.note = text,
            _ => {}
        }
    }
    Ok(form)
}

fn number<T: std::str::FromStr>(text: &str, field: &str) -> Result<T, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, "not a number"))
}

/// The API's batch request from the form, the photo stored first (as the API's clients do).
async fn recorded(
    state: &AppState,
    caller: &NgoCaller,
    order_id: Uuid,
    form: &mut BatchForm,
) -> Result<BatchView, ApiError> {
    if form.photo_too_large {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: state.config.planting.photo_bytes_max,
        });
    }
    let item_id = Uuid::parse_str(form.item_id.trim())
        .map_err(|_| ApiError::invalid("item_id", "choose an item of the order"))?;
    let units = number(&form.units, "units")?;
    let latitude = number(&form.latitude, "location.latitude")?;
    let longitude = number(&form.longitude, "location.longitude")?;
    let polygon = match form.polygon.trim() {
        "" => None,
        text => {
            Some(serde_json::from_str(text).map_err(|_| ApiError::invalid("polygon", "not JSON"))?)
        }
    };
    let mut photos = Vec::new();
    if let Some((declared, bytes)) = form.photo.take() {
        let stored = store_photo(state, caller.ngo_id, declared, bytes, "photo").await?;
        photos.push(stored.sha256);
    }
    let request = NewBatchRequest {
        item_id,
        units,
        planted_on: form.planted_on.clone(),
        location: GpsPoint {
            latitude,
            longitude,
        },
        polygon,
        photos,
        note: form.note.clone(),
    };
    record_planting_batch(state, caller, order_id, request).await
}

/// The input a refusal is about, and the words for it; `None` for errors that are not the
/// form's (shown as the error page).
fn field_error(lang: Lang, err: &ApiError) -> Option<(StatusCode, FieldError)> {
    let (status, field, key) = match err {
        ApiError::PayloadTooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo",
            "ngo-batch-error-photo-size",
        ),
        ApiError::UnsupportedMediaType { .. } => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "photo",
            "ngo-batch-error-photo-type",
        ),
        ApiError::GameRule { rule, .. } => match *rule {
            "more_than_ordered" => (
                StatusCode::CONFLICT,
                "units",
                "ngo-batch-error-more-than-ordered",
            ),
            "splits_a_pledge" => (StatusCode::CONFLICT, "units", "ngo-batch-error-splits"),
            _ => return None,
        },
        ApiError::InvalidField { field, .. } => {
            let (input, key) = match field.as_str() {
                "item_id" => ("item_id", "ngo-batch-error-item"),
                "units" => ("units", "ngo-batch-error-units"),
                "planted_on" => ("planted_on", "ngo-batch-error-date"),
                "location.latitude" => ("latitude", "ngo-batch-error-latitude"),
                "location.longitude" => ("longitude", "ngo-batch-error-longitude"),
                "note" => ("note", "ngo-batch-error-note"),
                "photo" | "photos" => ("photo", "ngo-batch-error-photo-type"),
                "form" => ("form", "ngo-batch-error-form"),
                other if other.starts_with("polygon") => ("polygon", "ngo-batch-error-polygon"),
                other if other.starts_with("photos") => ("photo", "ngo-batch-error-photo-type"),
                _ => return None,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, input, key)
        }
        _ => return None,
    };
    let text = if field == "form" {
        lang.t(key)
    } else {
        format!(
            "{}: {}",
            lang.t(&format!("ngo-batch-{}", field.replace('_', "-"))),
            lang.t(key)
        )
    };
    Some((status, FieldError { field, text }))
}

/// Records a planting batch from the multipart form (CSRF checked before anything is kept).
pub async fn record(
    State(state): State<AppState>,
    context: PageContext,
    Path(order_id): Path<Uuid>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let Ok(multipart) = multipart else {
        return Err(PageError::new(
            lang,
            StatusCode::BAD_REQUEST,
            "ngo-batch-error-form",
        ));
    };
    let read = read_form(multipart, state.config.planting.photo_bytes_max).await;
    let mut form = match read {
        Ok(form) => form,
        Err(_) => {
            return Err(PageError::new(
                lang,
                StatusCode::BAD_REQUEST,
                "ngo-batch-error-form",
            ));
        }
    };
    context.require_csrf(form.csrf.as_deref())?;
    let Some(caller) = ngo_caller(&state, &context).await? else {
        return Ok(context.to_signin());
    };
    match recorded(&state, &caller, order_id, &mut form).await {
        Ok(_) => Ok(Redirect::to(&format!("/ngo/orders/{order_id}?done=recorded")).into_response()),
        Err(err) => match field_error(lang, &err) {
            Some((status, error)) => {
                order_page(
                    &state,
                    &context,
                    &caller,
                    order_id,
                    status,
                    None,
                    form,
                    Some(error),
                )
                .await
            }
            None => Err(context.error(err)),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// A second member verifies a batch of my NGO.
pub async fn verify(
    State(state): State<AppState>,
    context: PageContext,
    Path(batch_id): Path<Uuid>,
    Form(form): Form<VerifyForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(caller) = ngo_caller(&state, &context).await? else {
        return Ok(context.to_signin());
    };
    match verify_ngo_batch(&state, &caller, batch_id).await {
        Ok(_) => Ok(Redirect::to("/ngo?done=verified#queue").into_response()),
        Err(ApiError::Forbidden(_)) => {
            let error = Some(context.lang.t("ngo-verify-own"));
            portal(
                &state,
                &context,
                &caller,
                StatusCode::FORBIDDEN,
                None,
                error,
            )
            .await
        }
        Err(err) => Err(context.error(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_input_they_are_about() {
        let cases = [
            (ApiError::invalid("location.latitude", "x"), "latitude"),
            (ApiError::invalid("polygon.coordinates[0]", "x"), "polygon"),
            (ApiError::invalid("photo", "x"), "photo"),
            (ApiError::PayloadTooLarge { limit_bytes: 1 }, "photo"),
            (
                ApiError::GameRule {
                    rule: "more_than_ordered",
                    detail: String::new(),
                },
                "units",
            ),
        ];
        for (err, field) in cases {
            let (_, error) = field_error(Lang::En, &err).unwrap();
            assert_eq!(error.field, field);
            assert!(error.text.contains(':'), "{}", error.text);
        }
        assert!(field_error(Lang::En, &ApiError::Internal("x".into())).is_none());
    }
}
