//! My trees: every certificate I hold with its status as a step indicator
//! (`pledged → ordered → planted → verified`, never merged), and one certificate in full: where
//! and when it was planted on a small map, the evidence photos, which actions funded it, the
//! PDF and the public check. The pieces that describe a certificate are shared with the public
//! verification page.

use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use super::map::{Place, draw};
use crate::error::ApiError;
use crate::routes::planting::{
    CertificateView, Histories, LineagePartView, certificate_view, certificates_of,
    find_certificate,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The four statuses in order.
pub(super) const STATUSES: [&str; 4] = ["pledged", "ordered", "planted", "verified"];

/// One step of the status indicator.
pub(super) struct Step {
    pub label: String,
    pub done: bool,
    pub current: bool,
}

pub(super) fn steps(lang: Lang, status: &str) -> Vec<Step> {
    let at = STATUSES
        .iter()
        .position(|known| *known == status)
        .unwrap_or(0);
    STATUSES
        .iter()
        .enumerate()
        .map(|(n, key)| Step {
            label: lang.t(&format!("cert-status-{key}")),
            done: n <= at,
            current: n == at,
        })
        .collect()
}

/// The status in words.
pub(super) fn status_text(lang: Lang, status: &str) -> String {
    if STATUSES.contains(&status) {
        lang.t(&format!("cert-status-{status}"))
    } else {
        status.to_string()
    }
}

/// The day of an RFC 3339 time (`2026-11-25T…` → `2026-11-25`).
pub(super) fn day(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_string()
}

/// A point as people read it: `38.86000° N, 105.71000° E`.
pub(super) fn coordinates(lang: Lang, latitude: f64, longitude: f64) -> String {
    let north = if latitude >= 0.0 { "N" } else { "S" };
    let east = if longitude >= 0.0 { "E" } else { "W" };
    lang.tn(
        "cert-coordinates",
        vec![
            (
                "latitude",
                format!(
                    "{:.5}° {}",
                    latitude.abs(),
                    lang.t(&format!("cert-compass-{north}"))
                )
                .into(),
            ),
            (
                "longitude",
                format!(
                    "{:.5}° {}",
                    longitude.abs(),
                    lang.t(&format!("cert-compass-{east}"))
                )
                .into(),
            ),
        ],
    )
}

/// "3 × Bus ride (200 g)": which actions produced the energy, oldest first, each action named
/// in the page's language (or by the methodology).
pub(super) fn lineage(
    lang: Lang,
    parts: &[LineagePartView],
    methodology: &openforest_core::Methodology,
) -> Vec<String> {
    parts
        .iter()
        .map(|part| match part.source.as_str() {
            "action" => lang.tn(
                "cert-lineage-action",
                vec![
                    ("count", part.actions.into()),
                    (
                        "action",
                        lang.action(part.action.as_deref().unwrap_or_default(), methodology)
                            .into(),
                    ),
                    ("grams", part.grams.into()),
                ],
            ),
            source @ ("watering" | "grant") => lang.tn(
                &format!("cert-lineage-{source}"),
                vec![("count", part.actions.into()), ("grams", part.grams.into())],
            ),
            _ => lang.t1("cert-lineage-other", "grams", part.grams),
        })
        .collect()
}

/// The rings of a GeoJSON Polygon as (longitude, latitude) pairs.
pub(super) fn rings(polygon: Option<&serde_json::Value>) -> Vec<Vec<(f64, f64)>> {
    let Some(rings) = polygon
        .and_then(|polygon| polygon.get("coordinates"))
        .and_then(|coordinates| coordinates.as_array())
    else {
        return Vec::new();
    };
    rings
        .iter()
        .filter_map(|ring| ring.as_array())
        .map(|ring| {
            ring.iter()
                .filter_map(|position| {
                    let position = position.as_array()?;
                    Some((position.first()?.as_f64()?, position.get(1)?.as_f64()?))
                })
                .collect()
        })
        .collect()
}

/// The site and, once planted, the planting's point and area on a small map.
pub(super) fn certificate_map(lang: Lang, view: &CertificateView) -> String {
    let mut places = Vec::new();
    let mut areas = Vec::new();
    if let Some(site) = &view.site {
        areas.extend(rings(site.polygon.as_ref()));
    }
    // Once planted, the planting's own point (it lies in the site, so the site's point would
    // only cover it); before, the site's.
    match (&view.planting, &view.site) {
        (Some(planting), _) => {
            places.push(Place {
                latitude: planting.latitude,
                longitude: planting.longitude,
                label: lang.t1("cert-map-planted", "date", planting.planted_on.clone()),
            });
            areas.extend(rings(planting.polygon.as_ref()));
        }
        (None, Some(site)) => places.push(Place {
            latitude: site.latitude,
            longitude: site.longitude,
            label: site.name.clone(),
        }),
        (None, None) => {}
    }
    draw(
        &places,
        &areas,
        &lang.t1("cert-map-title", "number", view.certificate_no.clone()),
    )
}

/// A label and its value.
pub(super) struct Fact {
    pub label: String,
    pub value: String,
}

fn fact(lang: Lang, key: &str, value: String) -> Fact {
    Fact {
        label: lang.t(key),
        value,
    }
}

/// What a certificate says, as label and value pairs.
pub(super) fn facts(lang: Lang, view: &CertificateView) -> Vec<Fact> {
    let what = match &view.item.scientific_name {
        Some(scientific) => format!("{} ({scientific})", view.item.name),
        None => view.item.name.clone(),
    };
    let units = if view.unit == "m2" {
        lang.t1("cert-units-m2", "count", view.units)
    } else {
        lang.t1("cert-units-trees", "count", view.units)
    };
    let mut facts = vec![
        fact(lang, "cert-fact-what", format!("{units} · {what}")),
        fact(
            lang,
            "cert-fact-energy",
            lang.t1("grams", "grams", view.grams),
        ),
        fact(
            lang,
            "cert-fact-holders",
            view.holders
                .iter()
                .map(|holder| {
                    format!(
                        "{} ({}.{}%)",
                        holder.handle,
                        holder.share_permille / 10,
                        holder.share_permille % 10
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        fact(
            lang,
            "cert-fact-ngo",
            view.ngo
                .as_ref()
                .map(|ngo| ngo.name.clone())
                .unwrap_or_default(),
        ),
        fact(
            lang,
            "cert-fact-site",
            view.site
                .as_ref()
                .map(|site| format!("{}, {}", site.name, site.region))
                .unwrap_or_default(),
        ),
        fact(lang, "cert-fact-season", view.season.clone()),
        fact(lang, "cert-fact-pledged", day(&view.pledged_at)),
    ];
    match &view.planting {
        Some(planting) => {
            facts.push(fact(lang, "cert-fact-planted", planting.planted_on.clone()));
            facts.push(fact(
                lang,
                "cert-fact-coordinates",
                coordinates(lang, planting.latitude, planting.longitude),
            ));
            facts.push(fact(
                lang,
                "cert-fact-verified",
                planting
                    .verified_at
                    .as_deref()
                    .map_or_else(|| lang.t("cert-fact-not-yet"), day),
            ));
        }
        None => facts.push(fact(lang, "cert-fact-planted", lang.t("cert-fact-not-yet"))),
    }
    facts
}

struct Row {
    number: String,
    name: String,
    what: String,
    status_text: String,
    steps: Vec<Step>,
    pledged_on: String,
    planted_on: Option<String>,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertificatesPage {
    page: Layout,
    rows: Vec<Row>,
}

fn row(lang: Lang, view: &CertificateView) -> Row {
    Row {
        number: view.certificate_no.clone(),
        name: view.item.name.clone(),
        what: if view.unit == "m2" {
            lang.t1("cert-units-m2", "count", view.units)
        } else {
            lang.t1("cert-units-trees", "count", view.units)
        },
        status_text: status_text(lang, &view.status),
        steps: steps(lang, &view.status),
        pledged_on: day(&view.pledged_at),
        planted_on: view
            .planting
            .as_ref()
            .map(|planting| planting.planted_on.clone()),
    }
}

/// `/certificates`: my trees and land, newest first.
pub async fn list(
    State(state): State<AppState>,
    context: PageContext,
) -> Result<Response, PageError> {
    let Some(me) = &context.user else {
        return Ok(context.to_signin());
    };
    let views = certificates_of(&state, me.user_id)
        .await
        .map_err(|err| context.error(err))?;
    let page = CertificatesPage {
        page: context.layout(),
        rows: views.iter().map(|view| row(context.lang, view)).collect(),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    page: Layout,
    number: String,
    name: String,
    status_text: String,
    steps: Vec<Step>,
    planted_notice: bool,
    facts: Vec<Fact>,
    map: String,
    photos: Vec<String>,
    photo_alt: String,
    lineage: Vec<String>,
    lineage_total: String,
}

#[derive(Debug, Deserialize)]
pub struct CertificateQuery {
    #[serde(default)]
    planted: Option<String>,
}

/// `/certificates/{number}`: one of my certificates in full (another person's: not found).
pub async fn detail(
    State(state): State<AppState>,
    context: PageContext,
    Path(number): Path<String>,
    Query(query): Query<CertificateQuery>,
) -> Result<Response, PageError> {
    let Some(me) = &context.user else {
        return Ok(context.to_signin());
    };
    let lang = context.lang;
    let not_found = |err: ApiError| match err {
        ApiError::InvalidField { .. } => context.error(ApiError::NotFound("certificate")),
        other => context.error(other),
    };
    let record = find_certificate(&state, &number).await.map_err(not_found)?;
    if !record
        .pledge
        .holders
        .iter()
        .any(|holder| holder.user_id == me.user_id)
    {
        return Err(not_found(ApiError::NotFound("certificate")));
    }
    let view = certificate_view(&state, &record, &mut Histories::default())
        .await
        .map_err(|err| context.error(err))?;
    let page = CertificatePage {
        page: context.layout(),
        number: view.certificate_no.clone(),
        name: view.item.name.clone(),
        status_text: status_text(lang, &view.status),
        steps: steps(lang, &view.status),
        planted_notice: query.planted.is_some() && view.status == "pledged",
        facts: facts(lang, &view),
        map: certificate_map(lang, &view),
        photos: view
            .planting
            .as_ref()
            .map(|planting| planting.photos.clone())
            .unwrap_or_default(),
        photo_alt: lang.t1("cert-photo-alt", "number", view.certificate_no.clone()),
        lineage: lineage(lang, &view.lineage, &state.energy.current().methodology),
        lineage_total: lang.t1("grams", "grams", view.grams),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_indicator_marks_what_is_done_and_where_it_stands() {
        let planted = steps(Lang::En, "planted");
        let marks: Vec<(bool, bool)> = planted
            .iter()
            .map(|step| (step.done, step.current))
            .collect();
        assert_eq!(
            marks,
            vec![(true, false), (true, false), (true, true), (false, false)]
        );
        assert_eq!(planted[3].label, "Verified");
    }

    #[test]
    fn polygons_become_rings_and_bad_ones_nothing() {
        let polygon = serde_json::json!({"type": "Polygon", "coordinates": [[[105.6, 38.8], [105.8, 38.8], [105.6, 38.8]]]});
        assert_eq!(
            rings(Some(&polygon)),
            vec![vec![(105.6, 38.8), (105.8, 38.8), (105.6, 38.8)]]
        );
        assert!(rings(Some(&serde_json::json!("nonsense"))).is_empty());
        assert!(rings(None).is_empty());
    }

    #[test]
    fn coordinates_read_with_their_hemispheres() {
        assert_eq!(
            coordinates(Lang::En, 38.86, -105.71),
            "38.86000° N, 105.71000° W"
        );
    }
}
