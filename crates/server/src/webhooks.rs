//! The webhook dispatcher: fans committed outbox events out to the endpoints that asked for
//! them, then delivers each one as a Standard Webhooks request (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`), retrying failures with exponential backoff and
//! logging every attempt.

use crate::config::WebhooksConfig;
use crate::routes::partner::credit_view;
use crate::routes::rfc3339;
use futures_util::StreamExt;
use openforest_core::{Clock, Timestamp};
use openforest_store::webhooks::ACTION_CREDITED;
use openforest_store::{DueDelivery, NextStep, Store, StoreError, WebhookAttempt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Outbox events fanned out per round.
const FAN_OUT_PAGE: u32 = 500;
/// Deliveries claimed per round.
const CLAIM_PAGE: u32 = 200;
/// Longest error text kept in the delivery log.
const ERROR_CHARS_MAX: usize = 300;

/// What one dispatch run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchRun {
    pub events: u32,
    pub attempts: u32,
    pub delivered: u32,
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    link_secret: Arc<Vec<u8>>,
    settings: WebhooksConfig,
    http: reqwest::Client,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        link_secret: Arc<Vec<u8>>,
        settings: WebhooksConfig,
    ) -> anyhow::Result<Dispatcher> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("openforest-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Dispatcher {
            store,
            clock,
            link_secret,
            settings,
            http,
        })
    }

    /// Fans out every pending event, then makes every attempt that is due now.
    pub async fn run_once(&self) -> Result<DispatchRun, StoreError> {
        let mut run = DispatchRun::default();
        loop {
            let taken = self
                .store
                .fan_out_webhook_events(self.clock.now(), FAN_OUT_PAGE)
                .await?;
            run.events += taken;
            if taken < FAN_OUT_PAGE {
                break;
            }
        }
        loop {
            let now = self.clock.now();
            // Long enough for every attempt of the page to finish, so no other run resends it.
            let lease = Duration::from_secs(self.settings.timeout_seconds.max(1)) * CLAIM_PAGE
                / u32::try_from(self.settings.concurrency.max(1)).unwrap_or(1)
                + Duration::from_secs(60);
            let lease_until = now.plus_millis(i64::try_from(lease.as_millis()).unwrap_or(0));
            let due = self
                .store
                .claim_webhook_deliveries(now, lease_until, CLAIM_PAGE)
                .await?;
            let claimed = due.len();
            let results: Vec<Result<bool, StoreError>> = futures_util::stream::iter(due)
                .map(|delivery| self.attempt(delivery))
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
            for result in results {
                run.attempts += 1;
                if result? {
                    run.delivered += 1;
                }
            }
            if claimed < CLAIM_PAGE as usize {
                return Ok(run);
            }
        }
    }

    /// One attempt at one delivery, logged; answers whether it was delivered.
    async fn attempt(&self, delivery: DueDelivery) -> Result<bool, StoreError> {
        let at = self.clock.now();
        let started = Instant::now();
        let (status_code, error) = match self.send(&delivery, at).await {
            Ok(status) if status.is_success() => (Some(status.as_u16()), None),
            Ok(status) => (
                Some(status.as_u16()),
                Some(format!("the endpoint answered {status}")),
            ),
            Err(err) => (None, Some(truncated(&err))),
        };
        let delivered = error.is_none();
        let next = if delivered {
            NextStep::Delivered
        } else if delivery.attempt >= self.settings.max_attempts
            // 410 Gone: the receiver says this endpoint is no more; retrying cannot help.
            || status_code == Some(410)
        {
            NextStep::GiveUp
        } else {
            NextStep::RetryAt(at.plus_millis(self.backoff_millis(&delivery)))
        };
        if !delivered {
            tracing::info!(delivery = %delivery.delivery_id, attempt = delivery.attempt, url = %delivery.endpoint.url,
                error = error.as_deref().unwrap_or(""), "webhook attempt failed");
        }
        metrics::counter!("openforest_webhook_attempts_total", "delivered" => delivered.to_string())
            .increment(1);
        let attempt = WebhookAttempt {
            attempt: delivery.attempt,
            at,
            status_code,
            error,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        self.store
            .record_webhook_attempt(delivery.delivery_id, &attempt, next)
            .await?;
        Ok(delivered)
    }

    async fn send(
        &self,
        delivery: &DueDelivery,
        at: Timestamp,
    ) -> Result<reqwest::StatusCode, String> {
        let body = render(&self.link_secret, delivery).map_err(|err| err.to_string())?;
        let body = serde_json::to_vec(&body).map_err(|err| err.to_string())?;
        let message_id = delivery.event.event_id.to_string();
        let seconds = at.millis().div_euclid(1_000);
        let signature = standardwebhooks::Webhook::new(&delivery.secret)
            .and_then(|webhook| webhook.sign(&message_id, seconds, &body))
            .map_err(|err| format!("cannot sign: {err}"))?;
        let response = self
            .http
            .post(&delivery.endpoint.url)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, &message_id)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                seconds.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|err| error_chain(&err))?;
        Ok(response.status())
    }

    /// Exponential backoff after the attempt just failed: the initial wait doubling per attempt
    /// up to the maximum, plus up to a tenth more, spread by delivery so that deliveries failing
    /// together do not all come back in the same instant.
    fn backoff_millis(&self, delivery: &DueDelivery) -> i64 {
        let doublings = delivery.attempt.saturating_sub(1).min(32);
        let base = self
            .settings
            .initial_backoff_seconds
            .max(1)
            .saturating_mul(1u64 << doublings)
            .min(self.settings.max_backoff_seconds.max(1))
            .saturating_mul(1_000);
        let spread = u64::from(delivery.delivery_id.as_bytes()[15]) * base / 2_550;
        i64::try_from(base + spread).unwrap_or(i64::MAX)
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn truncated(text: &str) -> String {
    text.chars().take(ERROR_CHARS_MAX).collect()
}

/// The Standard Webhooks payload an endpoint receives: `type`, `timestamp` and `data`. A
/// partner's endpoint sees a credit exactly as its report's answer (the user under the
/// partner's pseudonymous id); the operator's sees internal ids.
pub fn render(link_secret: &[u8], delivery: &DueDelivery) -> Result<Value, crate::error::ApiError> {
    let event = &delivery.event;
    let data = match delivery.endpoint.partner_id {
        Some(partner_id) if event.event_type == ACTION_CREDITED => serde_json::to_value(
            credit_view(link_secret, partner_id, event.outcome.clone(), false)?,
        )
        .map_err(|err| crate::error::ApiError::Internal(err.to_string()))?,
        _ => {
            let mut data = serde_json::to_value(&event.outcome)
                .map_err(|err| crate::error::ApiError::Internal(err.to_string()))?;
            if let Some(fields) = data.as_object_mut() {
                fields.remove("outcome");
                fields.insert("user_id".into(), json!(event.user_id));
                if let Some(partner_id) = event.partner_id {
                    fields.insert("partner_id".into(), json!(partner_id));
                }
            }
            data
        }
    };
    Ok(json!({
        "type": event.event_type,
        "timestamp": rfc3339(event.occurred_at),
        "data": data,
    }))
}

/// Runs the dispatcher every `interval` until aborted.
pub fn spawn(dispatcher: Dispatcher, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = dispatcher.run_once().await {
                tracing::warn!(error = %err, "webhook dispatch failed; retrying at the next tick");
            }
        }
    })
}
