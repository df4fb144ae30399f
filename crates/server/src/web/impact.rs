//! `/impact`: the public dashboard, for anyone, signed in or not. Users; CO2e avoided (the
//! energy credited for partners' reported actions) per day, by action type and by partner;
//! trees by status and by species; m² of land protected; the sites on a map; the methodology in
//! force with its sources; the transparency log's signed head. Avoided CO2e and trees are
//! reported apart: trees are the reward, not an offset of the same carbon.
//!
//! The sums come from one store read (`Store::impact_figures`) plus the partners, catalog and
//! sites, kept for a minute per database so a busy dashboard costs one read a minute. The
//! signed head is read on every view (one row), so it always matches `GET /v1/log/head`.
//! Charts are inline SVG from `charts.rs`; each has a table with the same figures.

use super::charts::{self, Bar, Caption};
use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use super::map::{self, Place};
use crate::error::{ApiError, ApiResult};
use crate::routes::log::TreeHeadView;
use crate::routes::log::{latest_head, log_key};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use openforest_core::methodology::GramsRule;
use openforest_core::planting::ItemKind;
use openforest_core::{CatalogItemId, PartnerId, Timestamp};
use openforest_store::{CatalogItem, ImpactFigures, Partner, PlantingStatus, Site};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// How long the figures are reused, by the server's clock.
const CACHE_MS: i64 = 60_000;

/// What the dashboard reads from the store, cached per database.
struct Snapshot {
    figures: ImpactFigures,
    partners: Vec<Partner>,
    catalog: Vec<CatalogItem>,
    sites: Vec<Site>,
}

/// Snapshots by the store's location (several servers share a process in the tests), with the
/// time they were read.
static CACHE: LazyLock<Mutex<HashMap<String, Cached>>> = LazyLock::new(Mutex::default);

/// A snapshot and when it was read.
type Cached = (Timestamp, Arc<Snapshot>);

async fn snapshot(state: &AppState) -> ApiResult<Arc<Snapshot>> {
    let now = state.clock.now();
    let location = state.store.location();
    let cached = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&location)
        .filter(|(at, _)| (0..CACHE_MS).contains(&(now.millis() - at.millis())))
        .map(|(_, snapshot)| snapshot.clone());
    if let Some(snapshot) = cached {
        return Ok(snapshot);
    }
    let snapshot = Arc::new(Snapshot {
        figures: state.reads.impact_figures().await?,
        partners: state.reads.partners().await?,
        catalog: state.reads.catalog().await?,
        sites: state.reads.sites().await?,
    });
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(location, (now, snapshot.clone()));
    Ok(snapshot)
}

/// One row of a figures table (and one bar of its chart).
pub struct Row {
    pub label: String,
    /// A second line: an action type's key, a species' scientific name.
    pub note: String,
    pub value: u64,
    pub value_text: String,
}

/// A chart with the table that says the same.
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    /// The table's column headings.
    pub label_header: String,
    pub value_header: String,
    /// The inline SVG, or empty when there is nothing to draw yet.
    pub svg: String,
    pub rows: Vec<Row>,
}

pub struct Methodology {
    pub name: String,
    pub version: u32,
    pub actions: Vec<MethodologyAction>,
}

pub struct MethodologyAction {
    pub key: String,
    pub title: String,
    pub factor: String,
    pub enabled: bool,
    pub citation: String,
    /// Only `https://` or `http://` links are made links.
    pub url: Option<String>,
}

pub struct Head {
    pub tree_size: u64,
    pub root_hash: String,
    pub signature: String,
    pub timestamp: String,
    pub key_id: String,
}

#[derive(Template)]
#[template(path = "impact.html")]
struct ImpactPage {
    page: Layout,
    users_text: String,
    grams_text: String,
    actions_text: String,
    trees_text: String,
    land_text: String,
    /// Avoided CO2e: per day, by action type, by partner.
    energy_charts: Vec<Chart>,
    /// Trees: by status, by species.
    tree_charts: Vec<Chart>,
    land_rows: Vec<Row>,
    map_svg: String,
    sites: Vec<SiteRow>,
    methodology: Methodology,
    head: Option<Head>,
    log_public_key: String,
    log_key_id: String,
}

pub struct SiteRow {
    pub name: String,
    pub region: String,
    pub coordinates: String,
}

/// A whole number with its thousands grouped the language's way: 12,345 or 12.345.
pub fn number(lang: Lang, value: u64) -> String {
    let separator = match lang {
        Lang::Id => '.',
        Lang::En | Lang::ZhCn => ',',
    };
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

fn area(lang: Lang, square_metres: u64) -> String {
    lang.t1("op-square-metres", "value", number(lang, square_metres))
}

fn grams_row(label: String, note: String, grams: u64) -> Row {
    Row {
        label,
        note,
        value: grams,
        value_text: charts::short_grams(grams),
    }
}

/// Rows largest first (ties by label), as the bar charts draw them.
fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    rows
}

fn bar_chart(
    lang: Lang,
    id: &'static str,
    [title_key, label_key, value_key]: [&str; 3],
    rows: Vec<Row>,
    value_text: &dyn Fn(u64) -> String,
) -> Result<Chart, ApiError> {
    let title = lang.t(title_key);
    // Nothing to draw while every figure is zero; the table still says so.
    let svg = if rows.iter().all(|row| row.value == 0) {
        String::new()
    } else {
        let bars: Vec<Bar> = rows
            .iter()
            .map(|row| Bar {
                label: row.label.clone(),
                value: row.value,
            })
            .collect();
        let description = lang.t("op-chart-table-below");
        charts::bars(
            &Caption {
                id,
                title: &title,
                description: &description,
            },
            &bars,
            value_text,
        )
        .map_err(|err| ApiError::Internal(format!("drawing the {id} chart: {err}")))?
    };
    Ok(Chart {
        id,
        title,
        label_header: lang.t(label_key),
        value_header: lang.t(value_key),
        svg,
        rows,
    })
}

fn factor_text(lang: Lang, rule: Option<&GramsRule>, unit: &str) -> String {
    match rule {
        Some(GramsRule::PerUnit { grams_per_unit }) => lang.tn(
            "op-factor-per-unit",
            vec![
                ("grams", grams_per_unit.to_string().into()),
                ("unit", unit.to_string().into()),
            ],
        ),
        Some(GramsRule::ModeShift {
            baseline_grams_per_unit,
            mode_grams_per_unit,
        }) => lang.tn(
            "op-factor-mode-shift",
            vec![
                ("baseline", baseline_grams_per_unit.to_string().into()),
                ("mode", mode_grams_per_unit.to_string().into()),
                ("unit", unit.to_string().into()),
            ],
        ),
        Some(GramsRule::Steps {
            grams_per_10000_steps,
        }) => lang.t1(
            "op-factor-steps",
            "grams",
            grams_per_10000_steps.to_string(),
        ),
        None => lang.t("op-factor-none"),
    }
}

fn methodology(state: &AppState, lang: Lang) -> Methodology {
    let energy = state.energy.current();
    let methodology = energy.methodology.as_ref();
    Methodology {
        name: methodology.name().to_string(),
        version: methodology.version(),
        actions: methodology
            .actions()
            .iter()
            .map(|rule| {
                let source = rule.source();
                MethodologyAction {
                    key: rule.key().as_str().to_string(),
                    title: lang.action(rule.key().as_str(), methodology),
                    factor: factor_text(lang, rule.grams_rule(), rule.unit().as_str()),
                    enabled: rule.is_enabled(),
                    citation: source.citation.clone(),
                    url: source
                        .url
                        .clone()
                        .filter(|url| url.starts_with("https://") || url.starts_with("http://")),
                }
            })
            .collect(),
    }
}

/// A GeoJSON Polygon's outer ring as (longitude, latitude) pairs.
fn outer_ring(polygon: Option<&str>) -> Option<Vec<(f64, f64)>> {
    let value: serde_json::Value = serde_json::from_str(polygon?).ok()?;
    let ring = value.get("coordinates")?.get(0)?.as_array()?;
    ring.iter()
        .map(|position| Some((position.get(0)?.as_f64()?, position.get(1)?.as_f64()?)))
        .collect()
}

fn status_key(status: PlantingStatus) -> &'static str {
    match status {
        PlantingStatus::Pledged => "op-status-pledged",
        PlantingStatus::Ordered => "op-status-ordered",
        PlantingStatus::Planted => "op-status-planted",
        PlantingStatus::Verified => "op-status-verified",
    }
}

fn impact_page(
    state: &AppState,
    context: &PageContext,
    snapshot: &Snapshot,
    head: Option<TreeHeadView>,
) -> Result<ImpactPage, ApiError> {
    let lang = context.lang;
    let figures = &snapshot.figures;
    let energy = state.energy.current();

    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let mut per_action: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_partner: BTreeMap<PartnerId, u64> = BTreeMap::new();
    let (mut grams, mut actions) = (0u64, 0u64);
    for sum in &figures.credited {
        *per_day.entry(sum.day).or_default() += sum.grams;
        *per_action.entry(sum.action.as_str()).or_default() += sum.grams;
        *per_partner.entry(sum.partner_id).or_default() += sum.grams;
        grams += sum.grams;
        actions += sum.actions;
    }

    let days = charts::filled_days(&per_day.into_iter().collect::<Vec<_>>());
    let daily_title = lang.t("op-chart-daily");
    let daily_svg = if days.is_empty() {
        String::new()
    } else {
        let description = lang.t("op-chart-table-below");
        charts::daily_area(
            &Caption {
                id: "chart-daily",
                title: &daily_title,
                description: &description,
            },
            &days,
        )
        .map_err(|err| ApiError::Internal(format!("drawing the daily chart: {err}")))?
    };
    let daily = Chart {
        id: "chart-daily",
        title: daily_title,
        label_header: lang.t("op-col-day"),
        value_header: lang.t("op-col-co2e"),
        svg: daily_svg,
        // The table lists the days with energy, newest first.
        rows: days
            .iter()
            .rev()
            .filter(|(_, grams)| *grams > 0)
            .map(|(day, grams)| grams_row(charts::day_text(*day), String::new(), *grams))
            .collect(),
    };

    let by_action = bar_chart(
        lang,
        "chart-actions",
        ["op-chart-actions", "op-col-action", "op-col-co2e"],
        sorted(
            per_action
                .into_iter()
                .map(|(action, grams)| {
                    let name = lang.action(action, &energy.methodology);
                    grams_row(name, action.to_string(), grams)
                })
                .collect(),
        ),
        &charts::short_grams,
    )?;
    let partner_names: HashMap<PartnerId, &str> = snapshot
        .partners
        .iter()
        .map(|partner| (partner.partner_id, partner.name.as_str()))
        .collect();
    let by_partner = bar_chart(
        lang,
        "chart-partners",
        ["op-chart-partners", "op-col-partner", "op-col-co2e"],
        sorted(
            per_partner
                .into_iter()
                .map(|(partner, grams)| {
                    let name = partner_names
                        .get(&partner)
                        .map_or_else(|| lang.t("op-partner-unknown"), |name| name.to_string());
                    grams_row(name, String::new(), grams)
                })
                .collect(),
        ),
        &charts::short_grams,
    )?;

    let items: HashMap<CatalogItemId, &CatalogItem> = snapshot
        .catalog
        .iter()
        .map(|item| (item.item_id, item))
        .collect();
    let mut trees_by_status: BTreeMap<PlantingStatus, u64> = PlantingStatus::ALL
        .into_iter()
        .map(|status| (status, 0))
        .collect();
    let mut land_by_status = trees_by_status.clone();
    let mut trees_by_item: BTreeMap<CatalogItemId, u64> = BTreeMap::new();
    for sum in &figures.pledged {
        let Some(item) = items.get(&sum.item_id) else {
            continue;
        };
        match item.kind {
            ItemKind::Tree => {
                *trees_by_status.entry(sum.status).or_default() += sum.units;
                *trees_by_item.entry(sum.item_id).or_default() += sum.units;
            }
            ItemKind::Land => *land_by_status.entry(sum.status).or_default() += sum.units,
        }
    }
    let trees: u64 = trees_by_status.values().sum();
    let land: u64 = land_by_status.values().sum();
    let count_text = |value: u64| number(lang, value);
    let by_status = bar_chart(
        lang,
        "chart-status",
        ["op-chart-status", "op-col-status", "op-col-trees"],
        // In the order a tree goes through, not by size.
        trees_by_status
            .iter()
            .map(|(status, units)| Row {
                label: lang.t(status_key(*status)),
                note: String::new(),
                value: *units,
                value_text: number(lang, *units),
            })
            .collect(),
        &count_text,
    )?;
    let by_species = bar_chart(
        lang,
        "chart-species",
        ["op-chart-species", "op-col-species", "op-col-trees"],
        sorted(
            trees_by_item
                .into_iter()
                .filter_map(|(item_id, units)| {
                    let item = items.get(&item_id)?;
                    Some(Row {
                        label: item.name.clone(),
                        note: item.scientific_name.clone().unwrap_or_default(),
                        value: units,
                        value_text: number(lang, units),
                    })
                })
                .collect(),
        ),
        &count_text,
    )?;
    let land_rows = land_by_status
        .iter()
        .map(|(status, units)| Row {
            label: lang.t(status_key(*status)),
            note: String::new(),
            value: *units,
            value_text: area(lang, *units),
        })
        .collect();

    let places: Vec<Place> = snapshot
        .sites
        .iter()
        .map(|site| Place {
            latitude: site.latitude,
            longitude: site.longitude,
            label: site.name.clone(),
        })
        .collect();
    let areas: Vec<Vec<(f64, f64)>> = snapshot
        .sites
        .iter()
        .filter_map(|site| outer_ring(site.polygon.as_deref()))
        .collect();
    let map_svg = if places.is_empty() {
        String::new()
    } else {
        map::draw(&places, &areas, &lang.t("op-map-title"))
    };
    let key = log_key(state);
    Ok(ImpactPage {
        page: context.layout(),
        users_text: number(lang, figures.users),
        grams_text: charts::short_grams(grams),
        actions_text: number(lang, actions),
        trees_text: number(lang, trees),
        land_text: area(lang, land),
        energy_charts: vec![daily, by_action, by_partner],
        tree_charts: vec![by_status, by_species],
        land_rows,
        map_svg,
        sites: snapshot
            .sites
            .iter()
            .map(|site| SiteRow {
                name: site.name.clone(),
                region: site.region.clone(),
                coordinates: format!("{:.4}, {:.4}", site.latitude, site.longitude),
            })
            .collect(),
        methodology: methodology(state, lang),
        head: head.map(|head| Head {
            tree_size: head.tree_size,
            root_hash: head.root_hash,
            signature: head.signature,
            timestamp: head.timestamp,
            key_id: head.key_id,
        }),
        log_public_key: key.public_key,
        log_key_id: key.key_id,
    })
}

/// `/impact`, for everyone.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
) -> Result<Response, PageError> {
    let snapshot = snapshot(&state).await.map_err(|err| context.error(err))?;
    let head = match latest_head(&state).await {
        Ok(head) => Some(TreeHeadView::from(&head)),
        Err(ApiError::NotFound(_)) => None,
        Err(err) => return Err(context.error(err)),
    };
    let page = impact_page(&state, &context, &snapshot, head).map_err(|err| context.error(err))?;
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_grouped_the_languages_way() {
        use super::super::i18n::Lang;
        assert_eq!(super::number(Lang::En, 0), "0");
        assert_eq!(super::number(Lang::En, 999), "999");
        assert_eq!(super::number(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(super::number(Lang::Id, 12_345), "12.345");
    }

    #[test]
    fn a_sites_outline_is_read_from_its_geojson() {
        let ring = super::outer_ring(Some(
            r#"{"type":"Polygon","coordinates":[[[105.1,38.2],[105.3,38.2],[105.3,38.4],[105.1,38.2]]]}"#,
        ));
        assert_eq!(ring.map(|ring| ring.len()), Some(4));
        assert_eq!(super::outer_ring(None), None);
        assert_eq!(super::outer_ring(Some("not json")), None);
    }
}
