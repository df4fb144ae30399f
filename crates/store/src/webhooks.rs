//! Webhook events and their delivery records. The writer turns a committed command's outcome
//! into an outbox event in the same transaction (so an event exists exactly when its effect
//! does); the dispatcher fans events out to the endpoints that asked for them and records every
//! delivery attempt.

use openforest_core::{Command, Grams, Outcome, PartnerId, Timestamp, UserId};
use serde::Serialize;
use uuid::Uuid;

/// A partner's action became energy (also sent to that partner's endpoints).
pub const ACTION_CREDITED: &str = "action.credited";
/// A ball expired with energy still in it.
pub const BALL_EXPIRED: &str = "ball.expired";
/// An admin granted energy.
pub const ENERGY_GRANTED: &str = "energy.granted";
/// A ball with energy left expires soon (announced once per ball).
pub const BALL_EXPIRING: &str = "ball.expiring";
/// A friend took energy from a user's ball (for a push notification to the owner).
pub const ENERGY_STOLEN: &str = "energy.stolen";
/// A friend watered a user's forest.
pub const ENERGY_WATERED: &str = "energy.watered";

/// An NGO recorded the planting of a pledged tree or land.
pub const TREE_PLANTED: &str = "tree.planted";
/// A recorded planting was verified.
pub const TREE_VERIFIED: &str = "tree.verified";

/// Every event type, as endpoints name them in their filters.
pub const EVENT_TYPES: &[&str] = &[
    ACTION_CREDITED,
    BALL_EXPIRED,
    BALL_EXPIRING,
    ENERGY_GRANTED,
    ENERGY_STOLEN,
    ENERGY_WATERED,
    TREE_PLANTED,
    TREE_VERIFIED,
];
/// The event types a partner's endpoint may receive: only those about its own reports.
pub const PARTNER_EVENT_TYPES: &[&str] = &[ACTION_CREDITED];

/// The event a command's outcome raises, if any: `(type, partner concerned, user)`.
pub(crate) fn event_of(
    command: &Command,
    outcome: &Outcome,
) -> Option<(&'static str, Option<PartnerId>, UserId)> {
    match (command, outcome) {
        (Command::Credit(credit), Outcome::Credited { .. }) => {
            Some((ACTION_CREDITED, Some(credit.partner_id), credit.user_id))
        }
        (Command::Expire(expire), Outcome::Expired { grams, .. }) if *grams > Grams::ZERO => {
            Some((BALL_EXPIRED, None, expire.user_id))
        }
        (Command::Grant(grant), Outcome::Granted { .. }) => {
            Some((ENERGY_GRANTED, None, grant.user_id))
        }
        (Command::Steal(steal), Outcome::Stolen { .. }) => {
            Some((ENERGY_STOLEN, None, steal.ball.owner_id))
        }
        (Command::Water(water), Outcome::Watered { .. }) => {
            Some((ENERGY_WATERED, None, water.receiver_id))
        }
        _ => None,
    }
}

/// An outbox row as the writer appends it.
pub(crate) struct NewEvent {
    pub event_id: Uuid,
    pub event_type: &'static str,
    pub partner_id: Option<PartnerId>,
    pub user_id: UserId,
    pub occurred_at: Timestamp,
    pub outcome_json: String,
}

/// Where events go: the operator's endpoint (`partner_id` none) or a partner's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookEndpoint {
    pub endpoint_id: Uuid,
    pub partner_id: Option<PartnerId>,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl WebhookEndpoint {
    /// Whether this endpoint receives `event`: it is enabled, subscribed to the type, and a
    /// partner's endpoint only hears about that partner's own reports.
    pub fn wants(&self, event: &WebhookEvent) -> bool {
        self.disabled_at.is_none()
            && self.event_types.contains(&event.event_type)
            && self
                .partner_id
                .is_none_or(|partner| event.partner_id == Some(partner))
    }
}

/// A committed event, as the dispatcher renders it for an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub partner_id: Option<PartnerId>,
    pub user_id: UserId,
    pub occurred_at: Timestamp,
    pub outcome: Outcome,
}

/// A delivery whose attempt is due, claimed by one dispatcher for a lease.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub delivery_id: Uuid,
    /// The number this attempt will have (1 for the first).
    pub attempt: u32,
    pub endpoint: WebhookEndpoint,
    pub secret: String,
    pub event: WebhookEvent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer came.
    Delivered,
    /// Every attempt failed; an admin can retry it.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One try at delivering: the HTTP status that came back, or why none did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookAttempt {
    pub attempt: u32,
    pub at: Timestamp,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What happens to a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(Timestamp),
    GiveUp,
}

/// A delivery's status, next attempt time and finish time after an attempt.
pub(crate) fn after_attempt(
    at: Timestamp,
    next: NextStep,
) -> (DeliveryStatus, Timestamp, Option<Timestamp>) {
    match next {
        NextStep::Delivered => (DeliveryStatus::Delivered, at, Some(at)),
        NextStep::RetryAt(when) => (DeliveryStatus::Pending, when, None),
        NextStep::GiveUp => (DeliveryStatus::Failed, at, Some(at)),
    }
}

/// A delivery with its whole attempt history, for the admin's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookDelivery {
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub attempts: Vec<WebhookAttempt>,
}

/// Which deliveries the log shows, newest first.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<Uuid>,
    pub status: Option<DeliveryStatus>,
    pub limit: u32,
}

pub(crate) fn event_types_from_json(json: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(json).map_err(|err| format!("webhook_endpoints.event_types: {err}"))
}

pub(crate) fn outcome_from_json(json: &str) -> Result<Outcome, String> {
    serde_json::from_str(json).map_err(|err| format!("webhook_events.outcome: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(partner_id: Option<PartnerId>, types: &[&str]) -> WebhookEndpoint {
        WebhookEndpoint {
            endpoint_id: Uuid::from_u128(1),
            partner_id,
            url: "http://127.0.0.1:9/hook".into(),
            event_types: types.iter().map(|t| t.to_string()).collect(),
            description: String::new(),
            created_at: Timestamp(0),
            disabled_at: None,
        }
    }

    fn event(event_type: &str, partner_id: Option<PartnerId>) -> WebhookEvent {
        WebhookEvent {
            event_id: Uuid::from_u128(2),
            event_type: event_type.into(),
            partner_id,
            user_id: UserId(Uuid::from_u128(3)),
            occurred_at: Timestamp(0),
            outcome: Outcome::Expired {
                ball_id: openforest_core::BallId(Uuid::from_u128(4)),
                grams: Grams::new(1),
            },
        }
    }

    #[test]
    fn a_partner_endpoint_hears_only_about_its_own_reports() {
        let metro = PartnerId(Uuid::from_u128(10));
        let bikes = PartnerId(Uuid::from_u128(11));
        let hook = endpoint(Some(metro), &[ACTION_CREDITED]);
        assert!(hook.wants(&event(ACTION_CREDITED, Some(metro))));
        assert!(!hook.wants(&event(ACTION_CREDITED, Some(bikes))));
        assert!(!hook.wants(&event(BALL_EXPIRED, None)));
    }

    #[test]
    fn the_operator_endpoint_hears_what_it_subscribed_to_while_enabled() {
        let mut hook = endpoint(None, &[BALL_EXPIRED]);
        assert!(hook.wants(&event(BALL_EXPIRED, None)));
        assert!(!hook.wants(&event(ACTION_CREDITED, None)));
        hook.disabled_at = Some(Timestamp(1));
        assert!(!hook.wants(&event(BALL_EXPIRED, None)));
    }
}
