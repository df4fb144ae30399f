//! The impact dashboard's grouped sums.

use crate::error::StoreError;
use crate::impact::{
    CreditedSum, DAY_MS, ImpactFigures, PLEDGE_STATUS_SQL, PledgedSum, status_named,
};
use openforest_core::harvest::WATERING_ACTION;
use openforest_core::{CatalogItemId, PartnerId};
use rusqlite::{Connection, params};
use uuid::Uuid;

fn count(raw: i64) -> u64 {
    u64::try_from(raw).unwrap_or(0)
}

pub(super) fn impact_figures(conn: &Connection) -> Result<ImpactFigures, StoreError> {
    let users: i64 = conn.query_row("SELECT count(*) FROM users", [], |row| row.get(0))?;
    let credited = conn
        .prepare_cached(
            "SELECT created_at_ms / ?1, partner_id, action, sum(grams), count(*) FROM balls
             WHERE action <> ?2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )?
        .query_map(params![DAY_MS, WATERING_ACTION], |row| {
            Ok(CreditedSum {
                day: row.get(0)?,
                partner_id: PartnerId(row.get::<_, Uuid>(1)?),
                action: row.get(2)?,
                grams: count(row.get(3)?),
                actions: count(row.get(4)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let rows = conn
        .prepare_cached(&format!(
            "SELECT p.item_id, {PLEDGE_STATUS_SQL}, sum(p.units) FROM pledges p
             LEFT JOIN planting_batches b ON b.batch_id = p.batch_id GROUP BY 1, 2 ORDER BY 1, 2"
        ))?
        .query_map([], |row| {
            Ok((
                row.get::<_, Uuid>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let pledged = rows
        .into_iter()
        .filter_map(|(item_id, status, units)| {
            Some(PledgedSum {
                item_id: CatalogItemId(item_id),
                status: status_named(&status)?,
                units: count(units),
            })
        })
        .collect();
    Ok(ImpactFigures {
        users: count(users),
        credited,
        pledged,
    })
}
