//! PostgreSQL queries for webhook endpoints, the outbox fan-out, delivery claims and the log.
//! Fan-out and claims lock with `SKIP LOCKED`, so several servers can share the work.

use crate::error::StoreError;
use crate::webhooks::{
    self, DeliveryFilter, DeliveryStatus, DueDelivery, NextStep, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};
use openforest_core::{PartnerId, Timestamp, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

const ENDPOINT_COLUMNS: &str = "en.endpoint_id, en.partner_id AS endpoint_partner_id, en.url, en.event_types, en.description, en.created_at_ms, en.disabled_at_ms";
const EVENT_COLUMNS: &str = "ev.event_id, ev.event_type, ev.partner_id AS event_partner_id, ev.user_id, ev.occurred_at_ms, ev.outcome";

fn to_endpoint(row: &PgRow) -> Result<WebhookEndpoint, StoreError> {
    let types: String = row.try_get("event_types")?;
    Ok(WebhookEndpoint {
        endpoint_id: row.try_get("endpoint_id")?,
        partner_id: row
            .try_get::<Option<Uuid>, _>("endpoint_partner_id")?
            .map(PartnerId),
        url: row.try_get("url")?,
        event_types: webhooks::event_types_from_json(&types).map_err(StoreError::Database)?,
        description: row.try_get("description")?,
        created_at: Timestamp(row.try_get("created_at_ms")?),
        disabled_at: row
            .try_get::<Option<i64>, _>("disabled_at_ms")?
            .map(Timestamp),
    })
}

fn to_event(row: &PgRow) -> Result<WebhookEvent, StoreError> {
    let outcome: String = row.try_get("outcome")?;
    Ok(WebhookEvent {
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        partner_id: row
            .try_get::<Option<Uuid>, _>("event_partner_id")?
            .map(PartnerId),
        user_id: UserId(row.try_get("user_id")?),
        occurred_at: Timestamp(row.try_get("occurred_at_ms")?),
        outcome: webhooks::outcome_from_json(&outcome).map_err(StoreError::Database)?,
    })
}

pub(super) async fn create_endpoint(
    pool: &PgPool,
    endpoint: &WebhookEndpoint,
    secret: &str,
) -> Result<(), StoreError> {
    let types = serde_json::to_string(&endpoint.event_types)
        .map_err(|err| StoreError::Database(err.to_string()))?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (endpoint_id, partner_id, url, secret, event_types, description, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(endpoint.endpoint_id)
    .bind(endpoint.partner_id.map(|partner| partner.uuid()))
    .bind(&endpoint.url)
    .bind(secret)
    .bind(types)
    .bind(&endpoint.description)
    .bind(endpoint.created_at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn endpoints(pool: &PgPool) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints en ORDER BY en.created_at_ms, en.endpoint_id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(to_endpoint).collect()
}

/// Whether any endpoint is enabled: the writer lanes record events only then.
pub(super) async fn any_enabled(pool: &PgPool) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_at_ms IS NULL)",
    )
    .fetch_one(pool)
    .await?)
}

/// Disables an endpoint; its pending deliveries fail at once, with the reason in the log.
pub(super) async fn disable_endpoint(
    pool: &PgPool,
    endpoint_id: Uuid,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let disabled = sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at_ms = $2 WHERE endpoint_id = $1 AND disabled_at_ms IS NULL",
    )
    .bind(endpoint_id)
    .bind(at.millis())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at_ms = $2, last_error = 'endpoint disabled'
         WHERE endpoint_id = $1 AND status = 'pending'",
    )
    .bind(endpoint_id)
    .bind(at.millis())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(disabled)
}

/// Turns up to `limit` outbox events into one pending delivery per endpoint that wants them.
pub(super) async fn fan_out(pool: &PgPool, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
    let listeners: Vec<WebhookEndpoint> = endpoints(pool)
        .await?
        .into_iter()
        .filter(|endpoint| endpoint.disabled_at.is_none())
        .collect();
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM webhook_events ev WHERE NOT ev.fanned_out
         ORDER BY ev.event_id LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let events = rows.iter().map(to_event).collect::<Result<Vec<_>, _>>()?;
    let (mut endpoint_ids, mut event_ids, mut delivery_ids) = (Vec::new(), Vec::new(), Vec::new());
    for event in &events {
        for endpoint in listeners.iter().filter(|endpoint| endpoint.wants(event)) {
            delivery_ids.push(crate::new_id(now));
            endpoint_ids.push(endpoint.endpoint_id);
            event_ids.push(event.event_id);
        }
    }
    if !delivery_ids.is_empty() {
        sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, endpoint_id, event_id, status, next_attempt_at_ms, created_at_ms)
             SELECT d, en, ev, 'pending', $4, $4 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) AS u(d, en, ev)
             ON CONFLICT DO NOTHING",
        )
        .bind(&delivery_ids)
        .bind(&endpoint_ids)
        .bind(&event_ids)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE webhook_events SET fanned_out = TRUE WHERE event_id = ANY($1)")
        .bind(
            events
                .iter()
                .map(|event| event.event_id)
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(u32::try_from(events.len()).unwrap_or(u32::MAX))
}

/// Claims up to `limit` due deliveries until `lease_until`, so no other server sends them too.
pub(super) async fn claim_due(
    pool: &PgPool,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<DueDelivery>, StoreError> {
    let rows = sqlx::query(&format!(
        "WITH due AS (
             SELECT d.delivery_id FROM webhook_deliveries d
             JOIN webhook_endpoints en ON en.endpoint_id = d.endpoint_id
             WHERE d.status = 'pending' AND d.next_attempt_at_ms <= $1 AND en.disabled_at_ms IS NULL
             ORDER BY d.next_attempt_at_ms LIMIT $3
             FOR UPDATE OF d SKIP LOCKED
         ), leased AS (
             UPDATE webhook_deliveries d SET next_attempt_at_ms = $2 FROM due
             WHERE d.delivery_id = due.delivery_id
             RETURNING d.delivery_id, d.attempts, d.endpoint_id AS leased_endpoint_id, d.event_id AS leased_event_id
         )
         SELECT l.delivery_id, l.attempts, en.secret, {ENDPOINT_COLUMNS}, {EVENT_COLUMNS}
         FROM leased l
         JOIN webhook_endpoints en ON en.endpoint_id = l.leased_endpoint_id
         JOIN webhook_events ev ON ev.event_id = l.leased_event_id"
    ))
    .bind(now.millis())
    .bind(lease_until.millis())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let attempts: i32 = row.try_get("attempts")?;
            Ok(DueDelivery {
                delivery_id: row.try_get("delivery_id")?,
                attempt: u32::try_from(attempts).unwrap_or(0) + 1,
                endpoint: to_endpoint(row)?,
                secret: row.try_get("secret")?,
                event: to_event(row)?,
            })
        })
        .collect()
}

pub(super) async fn record_attempt(
    pool: &PgPool,
    delivery_id: Uuid,
    attempt: &WebhookAttempt,
    next: NextStep,
) -> Result<(), StoreError> {
    let (status, next_at, finished) = webhooks::after_attempt(attempt.at, next);
    let number = i32::try_from(attempt.attempt).unwrap_or(i32::MAX);
    let status_code = attempt.status_code.map(i32::from);
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, status_code, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(delivery_id)
    .bind(number)
    .bind(attempt.at.millis())
    .bind(status_code)
    .bind(&attempt.error)
    .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries
         SET attempts = $2, status = $3, next_attempt_at_ms = $4, last_status_code = $5, last_error = $6,
             finished_at_ms = $7
         WHERE delivery_id = $1",
    )
    .bind(delivery_id)
    .bind(number)
    .bind(status.as_str())
    .bind(next_at.millis())
    .bind(status_code)
    .bind(&attempt.error)
    .bind(finished.map(Timestamp::millis))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn deliveries(
    pool: &PgPool,
    filter: &DeliveryFilter,
) -> Result<Vec<WebhookDelivery>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.delivery_id, d.endpoint_id, d.event_id, ev.event_type, d.status, d.next_attempt_at_ms,
                d.created_at_ms, d.finished_at_ms
         FROM webhook_deliveries d JOIN webhook_events ev ON ev.event_id = d.event_id
         WHERE ($1::uuid IS NULL OR d.endpoint_id = $1) AND ($2::text IS NULL OR d.status = $2)
         ORDER BY d.created_at_ms DESC, d.delivery_id DESC LIMIT $3",
    )
    .bind(filter.endpoint_id)
    .bind(filter.status.map(DeliveryStatus::as_str))
    .bind(i64::from(filter.limit))
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|row| row.try_get("delivery_id"))
        .collect::<Result<_, _>>()?;
    let attempt_rows = sqlx::query(
        "SELECT delivery_id, attempt, at_ms, status_code, error, duration_ms FROM webhook_attempts
         WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut attempts: std::collections::HashMap<Uuid, Vec<WebhookAttempt>> =
        std::collections::HashMap::new();
    for row in &attempt_rows {
        let status_code: Option<i32> = row.try_get("status_code")?;
        attempts
            .entry(row.try_get("delivery_id")?)
            .or_default()
            .push(WebhookAttempt {
                attempt: u32::try_from(row.try_get::<i32, _>("attempt")?).unwrap_or(0),
                at: Timestamp(row.try_get("at_ms")?),
                status_code: status_code.and_then(|code| u16::try_from(code).ok()),
                error: row.try_get("error")?,
                duration_ms: u64::try_from(row.try_get::<i64, _>("duration_ms")?).unwrap_or(0),
            });
    }
    rows.iter()
        .map(|row| {
            let delivery_id: Uuid = row.try_get("delivery_id")?;
            let status: String = row.try_get("status")?;
            let status = DeliveryStatus::parse(&status).ok_or_else(|| {
                StoreError::Database(format!("webhook_deliveries.status: {status:?}"))
            })?;
            Ok(WebhookDelivery {
                delivery_id,
                endpoint_id: row.try_get("endpoint_id")?,
                event_id: row.try_get("event_id")?,
                event_type: row.try_get("event_type")?,
                status,
                next_attempt_at: (status == DeliveryStatus::Pending)
                    .then(|| row.try_get("next_attempt_at_ms").map(Timestamp))
                    .transpose()?,
                created_at: Timestamp(row.try_get("created_at_ms")?),
                finished_at: row
                    .try_get::<Option<i64>, _>("finished_at_ms")?
                    .map(Timestamp),
                attempts: attempts.remove(&delivery_id).unwrap_or_default(),
            })
        })
        .collect()
}

/// Schedules a delivery that has not succeeded for an attempt now; false when there is none.
pub(super) async fn retry(
    pool: &PgPool,
    delivery_id: Uuid,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at_ms = $2, finished_at_ms = NULL
         WHERE delivery_id = $1 AND status <> 'delivered'
           AND endpoint_id IN (SELECT endpoint_id FROM webhook_endpoints WHERE disabled_at_ms IS NULL)",
    )
    .bind(delivery_id)
    .bind(at.millis())
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}
