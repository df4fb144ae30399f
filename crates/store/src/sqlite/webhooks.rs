//! SQLite queries for webhook endpoints, the outbox fan-out, delivery claims and the log.

use crate::error::StoreError;
use crate::webhooks::{
    self, DeliveryFilter, DeliveryStatus, DueDelivery, NextStep, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};
use openforest_core::{PartnerId, Timestamp, UserId};
use rusqlite::{Connection, Row, TransactionBehavior, params};
use uuid::Uuid;

const ENDPOINT_COLUMNS: &str = "en.endpoint_id, en.partner_id, en.url, en.event_types, en.description, en.created_at_ms, en.disabled_at_ms";
const EVENT_COLUMNS: &str =
    "ev.event_id, ev.event_type, ev.partner_id, ev.user_id, ev.occurred_at_ms, ev.outcome";

type RawEndpoint = (Uuid, Option<Uuid>, String, String, String, i64, Option<i64>);
type RawEvent = (Uuid, String, Option<Uuid>, Uuid, i64, String);

fn endpoint_row(row: &Row<'_>, at: usize) -> rusqlite::Result<RawEndpoint> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
        row.get(at + 4)?,
        row.get(at + 5)?,
        row.get(at + 6)?,
    ))
}

fn event_row(row: &Row<'_>, at: usize) -> rusqlite::Result<RawEvent> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
        row.get(at + 4)?,
        row.get(at + 5)?,
    ))
}

fn to_endpoint(raw: RawEndpoint) -> Result<WebhookEndpoint, StoreError> {
    Ok(WebhookEndpoint {
        endpoint_id: raw.0,
        partner_id: raw.1.map(PartnerId),
        url: raw.2,
        event_types: webhooks::event_types_from_json(&raw.3).map_err(StoreError::Database)?,
        description: raw.4,
        created_at: Timestamp(raw.5),
        disabled_at: raw.6.map(Timestamp),
    })
}

fn to_event(raw: RawEvent) -> Result<WebhookEvent, StoreError> {
    Ok(WebhookEvent {
        event_id: raw.0,
        event_type: raw.1,
        partner_id: raw.2.map(PartnerId),
        user_id: UserId(raw.3),
        occurred_at: Timestamp(raw.4),
        outcome: webhooks::outcome_from_json(&raw.5).map_err(StoreError::Database)?,
    })
}

pub(super) fn create_endpoint(
    conn: &Connection,
    endpoint: &WebhookEndpoint,
    secret: &str,
) -> Result<(), StoreError> {
    let types = serde_json::to_string(&endpoint.event_types)
        .map_err(|err| StoreError::Database(err.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO webhook_endpoints (endpoint_id, partner_id, url, secret, event_types, description, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        endpoint.endpoint_id,
        endpoint.partner_id.map(|partner| partner.uuid()),
        endpoint.url,
        secret,
        types,
        endpoint.description,
        endpoint.created_at.millis(),
    ])?;
    Ok(())
}

pub(super) fn endpoints(conn: &Connection) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints en ORDER BY en.created_at_ms, en.endpoint_id"
    ))?;
    let raws = stmt
        .query_map([], |row| endpoint_row(row, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter().map(to_endpoint).collect()
}

/// Whether any endpoint is enabled: the writer records events only then.
pub(super) fn any_enabled(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM webhook_endpoints WHERE disabled_at_ms IS NULL LIMIT 1")?
        .exists([])?)
}

/// Disables an endpoint; its pending deliveries fail at once, with the reason in the log.
pub(super) fn disable_endpoint(
    conn: &mut Connection,
    endpoint_id: Uuid,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let disabled = tx
        .prepare_cached(
            "UPDATE webhook_endpoints SET disabled_at_ms = ?2
             WHERE endpoint_id = ?1 AND disabled_at_ms IS NULL",
        )?
        .execute(params![endpoint_id, at.millis()])?
        > 0;
    tx.prepare_cached(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at_ms = ?2, last_error = 'endpoint disabled'
         WHERE endpoint_id = ?1 AND status = 'pending'",
    )?
    .execute(params![endpoint_id, at.millis()])?;
    tx.commit()?;
    Ok(disabled)
}

/// Turns up to `limit` outbox events into one pending delivery per endpoint that wants them.
pub(super) fn fan_out(
    conn: &mut Connection,
    now: Timestamp,
    limit: u32,
) -> Result<u32, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let listeners: Vec<WebhookEndpoint> = endpoints(&tx)?
        .into_iter()
        .filter(|endpoint| endpoint.disabled_at.is_none())
        .collect();
    let pending = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT ev.seq, {EVENT_COLUMNS} FROM webhook_events ev
             WHERE ev.fanned_out = 0 ORDER BY ev.seq LIMIT ?1"
        ))?;
        stmt.query_map(params![limit], |row| {
            Ok((row.get::<_, i64>(0)?, event_row(row, 1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?
    };
    let taken = u32::try_from(pending.len()).unwrap_or(u32::MAX);
    {
        let mut deliver = tx.prepare_cached(
            "INSERT INTO webhook_deliveries (delivery_id, endpoint_id, event_id, status, next_attempt_at_ms, created_at_ms)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?4) ON CONFLICT DO NOTHING",
        )?;
        let mut done =
            tx.prepare_cached("UPDATE webhook_events SET fanned_out = 1 WHERE seq = ?1")?;
        for (seq, raw) in pending {
            let event = to_event(raw)?;
            for endpoint in listeners.iter().filter(|endpoint| endpoint.wants(&event)) {
                deliver.execute(params![
                    crate::new_id(now),
                    endpoint.endpoint_id,
                    event.event_id,
                    now.millis()
                ])?;
            }
            done.execute(params![seq])?;
        }
    }
    tx.commit()?;
    Ok(taken)
}

/// Claims up to `limit` due deliveries until `lease_until`, so no other run sends them too.
pub(super) fn claim_due(
    conn: &mut Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<DueDelivery>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT d.delivery_id, d.attempts, en.secret, {ENDPOINT_COLUMNS}, {EVENT_COLUMNS}
             FROM webhook_deliveries d
             JOIN webhook_endpoints en ON en.endpoint_id = d.endpoint_id
             JOIN webhook_events ev ON ev.event_id = d.event_id
             WHERE d.status = 'pending' AND d.next_attempt_at_ms <= ?1 AND en.disabled_at_ms IS NULL
             ORDER BY d.next_attempt_at_ms LIMIT ?2"
        ))?;
        stmt.query_map(params![now.millis(), limit], |row| {
            Ok((
                row.get::<_, Uuid>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, String>(2)?,
                endpoint_row(row, 3)?,
                event_row(row, 10)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
    };
    let mut due = Vec::with_capacity(rows.len());
    {
        let mut lease = tx.prepare_cached(
            "UPDATE webhook_deliveries SET next_attempt_at_ms = ?2 WHERE delivery_id = ?1",
        )?;
        for (delivery_id, attempts, secret, endpoint, event) in rows {
            lease.execute(params![delivery_id, lease_until.millis()])?;
            due.push(DueDelivery {
                delivery_id,
                attempt: attempts + 1,
                endpoint: to_endpoint(endpoint)?,
                secret,
                event: to_event(event)?,
            });
        }
    }
    tx.commit()?;
    Ok(due)
}

pub(super) fn record_attempt(
    conn: &mut Connection,
    delivery_id: Uuid,
    attempt: &WebhookAttempt,
    next: NextStep,
) -> Result<(), StoreError> {
    let (status, next_at, finished) = webhooks::after_attempt(attempt.at, next);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, status_code, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        delivery_id,
        attempt.attempt,
        attempt.at.millis(),
        attempt.status_code,
        attempt.error,
        i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX),
    ])?;
    tx.prepare_cached(
        "UPDATE webhook_deliveries
         SET attempts = ?2, status = ?3, next_attempt_at_ms = ?4, last_status_code = ?5, last_error = ?6,
             finished_at_ms = ?7
         WHERE delivery_id = ?1",
    )?
    .execute(params![
        delivery_id,
        attempt.attempt,
        status.as_str(),
        next_at.millis(),
        attempt.status_code,
        attempt.error,
        finished.map(Timestamp::millis),
    ])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn deliveries(
    conn: &Connection,
    filter: &DeliveryFilter,
) -> Result<Vec<WebhookDelivery>, StoreError> {
    let rows = {
        let mut stmt = conn.prepare_cached(
            "SELECT d.delivery_id, d.endpoint_id, d.event_id, ev.event_type, d.status, d.next_attempt_at_ms,
                    d.created_at_ms, d.finished_at_ms
             FROM webhook_deliveries d JOIN webhook_events ev ON ev.event_id = d.event_id
             WHERE (?1 IS NULL OR d.endpoint_id = ?1) AND (?2 IS NULL OR d.status = ?2)
             ORDER BY d.created_at_ms DESC, d.delivery_id DESC LIMIT ?3",
        )?;
        stmt.query_map(
            params![
                filter.endpoint_id,
                filter.status.map(DeliveryStatus::as_str),
                filter.limit
            ],
            |row| {
                Ok((
                    row.get::<_, Uuid>(0)?,
                    row.get::<_, Uuid>(1)?,
                    row.get::<_, Uuid>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, Option<i64>>(7)?,
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?
    };
    let mut attempts = conn.prepare_cached(
        "SELECT attempt, at_ms, status_code, error, duration_ms FROM webhook_attempts
         WHERE delivery_id = ?1 ORDER BY attempt",
    )?;
    rows.into_iter()
        .map(
            |(
                delivery_id,
                endpoint_id,
                event_id,
                event_type,
                status,
                next_at,
                created,
                finished,
            )| {
                let status = DeliveryStatus::parse(&status).ok_or_else(|| {
                    StoreError::Database(format!("webhook_deliveries.status: {status:?}"))
                })?;
                let attempts = attempts
                    .query_map(params![delivery_id], |row| {
                        Ok(WebhookAttempt {
                            attempt: row.get(0)?,
                            at: Timestamp(row.get(1)?),
                            status_code: row.get(2)?,
                            error: row.get(3)?,
                            duration_ms: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(WebhookDelivery {
                    delivery_id,
                    endpoint_id,
                    event_id,
                    event_type,
                    status,
                    next_attempt_at: (status == DeliveryStatus::Pending)
                        .then_some(Timestamp(next_at)),
                    created_at: Timestamp(created),
                    finished_at: finished.map(Timestamp),
                    attempts,
                })
            },
        )
        .collect()
}

/// Schedules a delivery that has not succeeded for an attempt now; false when there is none.
pub(super) fn retry(
    conn: &Connection,
    delivery_id: Uuid,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at_ms = ?2, finished_at_ms = NULL
             WHERE delivery_id = ?1 AND status <> 'delivered'
               AND endpoint_id IN (SELECT endpoint_id FROM webhook_endpoints WHERE disabled_at_ms IS NULL)",
        )?
        .execute(params![delivery_id, at.millis()])?;
    Ok(found > 0)
}
