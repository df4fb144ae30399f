//! Crediting a partner's reported action: the methodology's grams, the user's caps and the
//! household dedup decide what becomes an energy ball. Decided inside the writer, so no race
//! between two reports can pass a cap.

use crate::account::Account;
use crate::ball::Ball;
use crate::book::LedgerError;
use crate::clock::Timestamp;
use crate::command::{Outcome, Rejection};
use crate::entry::{Entry, EntryKind};
use crate::grams::Grams;
use crate::ids::{BallId, EntryId, PartnerId, UserId};
use crate::methodology::{
    ActionRule, CapApplied, DayKey, DedupKey, DedupStatus, MonthKey, Quantity, UsageSoFar,
};
use crate::state::{BatchState, UsageKey};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A partner's report of one action, with everything the methodology fixes at report time
/// already worked out (grams rule, local day and month, dedup key, ripening).
#[derive(Clone, Debug, PartialEq)]
pub struct Credit {
    pub partner_id: PartnerId,
    pub user_id: UserId,
    /// The id the ball gets if anything is credited.
    pub ball_id: BallId,
    pub rule: Arc<ActionRule>,
    pub methodology: String,
    pub methodology_version: u32,
    pub quantity: Quantity,
    pub day: DayKey,
    pub month: MonthKey,
    pub dedup: Option<DedupKey>,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
    /// The partner's own idempotency key for this action.
    pub out_biz_no: String,
}

/// The ball a credit made, as answered to the partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditedBall {
    pub ball_id: BallId,
    pub grams: Grams,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Credit {
    pub fn usage_keys(&self) -> [UsageKey; 2] {
        let key = |period: &str| UsageKey {
            user_id: self.user_id,
            action: self.rule.key().as_str().into(),
            period: period.into(),
        };
        [key(self.day.as_str()), key(self.month.as_str())]
    }

    pub fn ball_account(&self) -> Account {
        Account::Ball {
            user_id: self.user_id,
            ball_id: self.ball_id,
        }
    }

    pub(crate) fn decide(
        &self,
        state: &mut BatchState,
        at: Timestamp,
        entry_id: EntryId,
    ) -> Result<(Outcome, Vec<Entry>), Rejection> {
        let [day_key, month_key] = self.usage_keys();
        let mut usage = UsageSoFar {
            day: state.usage(&day_key),
            month: state.usage(&month_key),
        };
        let dedup = match &self.dedup {
            Some(key) if state.is_deduplicated(key) => DedupStatus::AlreadyCredited,
            _ => DedupStatus::New,
        };
        let decision = self
            .rule
            .decide(self.quantity, &usage, dedup)
            .map_err(|err| Rejection::Invalid {
                field: "quantity",
                reason: err.to_string(),
            })?;
        let outcome = |ball: Option<CreditedBall>,
                       credited: Grams,
                       cap_applied: Option<CapApplied>| Outcome::Credited {
            out_biz_no: self.out_biz_no.clone(),
            user_id: self.user_id,
            action: self.rule.key().as_str().into(),
            requested_grams: decision.requested,
            credited_grams: credited,
            cap_applied,
            ball,
            methodology: self.methodology.clone(),
            methodology_version: self.methodology_version,
        };
        if decision.credited == Grams::ZERO {
            return Ok((outcome(None, Grams::ZERO, decision.cap_applied), Vec::new()));
        }
        let entry = Entry {
            entry_id,
            user_id: self.user_id,
            at,
            kind: EntryKind::Action,
            from: Account::Issuance {
                partner_id: self.partner_id,
            },
            to: self.ball_account(),
            grams: decision.credited,
            reference: Some(self.out_biz_no.clone()),
        };
        state
            .book
            .post(std::slice::from_ref(&entry))
            .map_err(|err: LedgerError| Rejection::Ledger(err))?;
        usage.record(&decision);
        state.set_usage(day_key, usage.day);
        state.set_usage(month_key, usage.month);
        if let Some(key) = &self.dedup {
            state.add_dedup(key.clone(), self.user_id);
        }
        state.add_ball(Ball {
            ball_id: self.ball_id,
            user_id: self.user_id,
            grams: decision.credited,
            ripens_at: self.ripens_at,
            expires_at: self.expires_at,
            partner_id: self.partner_id,
            action: self.rule.key().as_str().into(),
            methodology: self.methodology.clone(),
            methodology_version: self.methodology_version,
            created_at: at,
        });
        let ball = CreditedBall {
            ball_id: self.ball_id,
            grams: decision.credited,
            ripens_at: self.ripens_at,
            expires_at: self.expires_at,
        };
        Ok((
            outcome(Some(ball), decision.credited, decision.cap_applied),
            vec![entry],
        ))
    }
}
