//! The impact dashboard's grouped sums.

use crate::error::StoreError;
use crate::impact::{
    CreditedSum, DAY_MS, ImpactFigures, PLEDGE_STATUS_SQL, PledgedSum, status_named,
};
use openforest_core::harvest::WATERING_ACTION;
use openforest_core::{CatalogItemId, PartnerId};
use sqlx::PgPool;
use uuid::Uuid;

fn count(raw: i64) -> u64 {
    u64::try_from(raw).unwrap_or(0)
}

pub(super) async fn impact_figures(pool: &PgPool) -> Result<ImpactFigures, StoreError> {
    let users: i64 = sqlx::query_scalar("SELECT count(*)::int8 FROM users")
        .fetch_one(pool)
        .await?;
    // The balls of dropped days (postgres/partitions.rs) left their sums in credited_days.
    let credited: Vec<(i64, Uuid, String, i64, i64)> = sqlx::query_as(
        "SELECT day, partner_id, action, sum(grams)::int8, sum(actions)::int8 FROM (
             SELECT created_at_ms / $1, partner_id, action, sum(grams), count(*)
             FROM balls WHERE action <> $2 GROUP BY 1, 2, 3
             UNION ALL
             SELECT day, partner_id, action, grams, actions FROM credited_days WHERE action <> $2
         ) AS credited (day, partner_id, action, grams, actions)
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(DAY_MS)
    .bind(WATERING_ACTION)
    .fetch_all(pool)
    .await?;
    let pledged: Vec<(Uuid, String, i64)> = sqlx::query_as(&format!(
        "SELECT p.item_id, {PLEDGE_STATUS_SQL}, sum(p.units)::int8 FROM pledges p
         LEFT JOIN planting_batches b ON b.batch_id = p.batch_id GROUP BY 1, 2 ORDER BY 1, 2"
    ))
    .fetch_all(pool)
    .await?;
    Ok(ImpactFigures {
        users: count(users),
        credited: credited
            .into_iter()
            .map(|(day, partner_id, action, grams, actions)| CreditedSum {
                day,
                partner_id: PartnerId(partner_id),
                action,
                grams: count(grams),
                actions: count(actions),
            })
            .collect(),
        pledged: pledged
            .into_iter()
            .filter_map(|(item_id, status, units)| {
                Some(PledgedSum {
                    item_id: CatalogItemId(item_id),
                    status: status_named(&status)?,
                    units: count(units),
                })
            })
            .collect(),
    })
}
