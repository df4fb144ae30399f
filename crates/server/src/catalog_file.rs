//! Catalog files: NGOs, sites and items written as TOML, loaded with `openforest catalog load`
//! (or the bundled demo catalog with `openforest catalog demo`). Loading is idempotent: NGOs are
//! matched by name, sites by NGO and name, items by site and name; what exists is kept.

use crate::geo;
use crate::routes::catalog::TREE_GRAMS_MAX;
use openforest_core::planting::{ItemKind, Season};
use openforest_core::{CatalogItemId, Clock, Grams, NgoId, SiteId};
use openforest_store::{CatalogItem, Ngo, Site, Store, StoreError};
use serde::Deserialize;

/// The demo catalog: saxaul and red willow at Ant Forest's costs, the rest marked demo values.
pub const DEMO_CATALOG: &str = include_str!("../data/demo-catalog.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    ngos: Vec<NgoEntry>,
    #[serde(default)]
    sites: Vec<SiteEntry>,
    #[serde(default)]
    items: Vec<ItemEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NgoEntry {
    name: String,
    #[serde(default)]
    about: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteEntry {
    ngo: String,
    name: String,
    region: String,
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    polygon: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemEntry {
    kind: String,
    name: String,
    #[serde(default)]
    scientific_name: Option<String>,
    site: String,
    unit_grams: u64,
    quota_units: u64,
    #[serde(default)]
    seasons: Vec<Season>,
    #[serde(default)]
    about: String,
    #[serde(default)]
    demo_values: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    /// The TOML does not parse or has unknown or missing fields (the message has the line).
    #[error("{0}")]
    Syntax(String),
    #[error("{entry}: {reason}")]
    Invalid { entry: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a load added (entries that already existed are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatalogLoad {
    pub ngos: usize,
    pub sites: usize,
    pub items: usize,
}

fn invalid(entry: String, reason: impl Into<String>) -> CatalogFileError {
    CatalogFileError::Invalid {
        entry,
        reason: reason.into(),
    }
}

fn check_text(entry: &str, field: &str, value: &str, max: usize) -> Result<(), CatalogFileError> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max {
        return Err(invalid(
            format!("{entry}.{field}"),
            format!("1 to {max} characters"),
        ));
    }
    Ok(())
}

fn check_item(entry: &str, item: &ItemEntry) -> Result<ItemKind, CatalogFileError> {
    let kind = ItemKind::parse(&item.kind)
        .ok_or_else(|| invalid(format!("{entry}.kind"), "`tree` or `land`"))?;
    check_text(entry, "name", &item.name, 80)?;
    if kind == ItemKind::Tree && item.scientific_name.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            format!("{entry}.scientific_name"),
            "a tree species needs its scientific name",
        ));
    }
    if item.unit_grams == 0 || item.unit_grams > TREE_GRAMS_MAX {
        return Err(invalid(
            format!("{entry}.unit_grams"),
            format!("1 to {TREE_GRAMS_MAX} g"),
        ));
    }
    if let Some(n) = item.seasons.iter().position(|season| !season.is_valid()) {
        return Err(invalid(
            format!("{entry}.seasons[{n}]"),
            "a name of 1 to 40 characters and months from 1 to 12",
        ));
    }
    Ok(kind)
}

/// Parses and checks a catalog file, then adds what the store does not have yet.
pub async fn load(
    store: &dyn Store,
    clock: &dyn Clock,
    text: &str,
) -> Result<CatalogLoad, CatalogFileError> {
    let file: CatalogFile =
        toml::from_str(text).map_err(|err| CatalogFileError::Syntax(err.to_string()))?;
    let mut added = CatalogLoad::default();
    let mut ngos = store.ngos().await?;
    for (n, entry) in file.ngos.iter().enumerate() {
        check_text(&format!("ngos[{n}]"), "name", &entry.name, 80)?;
        if ngos.iter().any(|ngo| ngo.name == entry.name.trim()) {
            continue;
        }
        let ngo = Ngo {
            ngo_id: NgoId(openforest_store::new_id(clock.now())),
            name: entry.name.trim().into(),
            about: entry.about.trim().into(),
            created_at: clock.now(),
        };
        store.create_ngo(&ngo).await?;
        ngos.push(ngo);
        added.ngos += 1;
    }
    let mut sites = store.sites().await?;
    for (n, entry) in file.sites.iter().enumerate() {
        let name = format!("sites[{n}]");
        check_text(&name, "name", &entry.name, 80)?;
        check_text(&name, "region", &entry.region, 120)?;
        geo::check_point(entry.latitude, entry.longitude, &name)
            .map_err(|err| invalid(name.clone(), err.to_string()))?;
        let ngo = ngos
            .iter()
            .find(|ngo| ngo.name == entry.ngo.trim())
            .ok_or_else(|| {
                invalid(
                    format!("{name}.ngo"),
                    format!("no NGO named {:?}", entry.ngo),
                )
            })?;
        let polygon = match &entry.polygon {
            None => None,
            Some(value) => {
                let json = serde_json::to_value(value)
                    .map_err(|err| invalid(format!("{name}.polygon"), err.to_string()))?;
                Some(
                    geo::parse_polygon(&json, &format!("{name}.polygon"))
                        .map_err(|err| invalid(format!("{name}.polygon"), err.to_string()))?,
                )
            }
        };
        if sites
            .iter()
            .any(|site| site.ngo_id == ngo.ngo_id && site.name == entry.name.trim())
        {
            continue;
        }
        let site = Site {
            site_id: SiteId(openforest_store::new_id(clock.now())),
            ngo_id: ngo.ngo_id,
            name: entry.name.trim().into(),
            region: entry.region.trim().into(),
            latitude: entry.latitude,
            longitude: entry.longitude,
            polygon,
            created_at: clock.now(),
        };
        store.create_site(&site).await?;
        sites.push(site);
        added.sites += 1;
    }
    let catalog = store.catalog().await?;
    for (n, entry) in file.items.iter().enumerate() {
        let name = format!("items[{n}]");
        let kind = check_item(&name, entry)?;
        let site = sites
            .iter()
            .find(|site| site.name == entry.site.trim())
            .ok_or_else(|| {
                invalid(
                    format!("{name}.site"),
                    format!("no site named {:?}", entry.site),
                )
            })?;
        if catalog
            .iter()
            .any(|item| item.site_id == site.site_id && item.name == entry.name.trim())
        {
            continue;
        }
        let item = CatalogItem {
            item_id: CatalogItemId(openforest_store::new_id(clock.now())),
            kind,
            name: entry.name.trim().into(),
            scientific_name: entry
                .scientific_name
                .as_deref()
                .map(|text| text.trim().to_string()),
            ngo_id: site.ngo_id,
            site_id: site.site_id,
            unit_grams: Grams::new(entry.unit_grams),
            quota_units: entry.quota_units,
            taken_units: 0,
            seasons: entry.seasons.clone(),
            about: entry.about.trim().into(),
            demo_values: entry.demo_values,
            created_at: clock.now(),
        };
        store.create_catalog_item(&item).await?;
        added.items += 1;
    }
    Ok(added)
}
