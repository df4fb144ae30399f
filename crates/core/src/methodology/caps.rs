//! Caps: how much of an action type one user may be credited per local day and month.

use super::dedup::DedupStatus;
use super::quantity::Quantity;
use super::rule::{ActionError, ActionRule};
use crate::grams::Grams;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The per-user limits of one action type. Each is optional; all that are set apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Caps {
    /// Credited actions per local day (metro: 5; walking: 1, "one ball a day").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_actions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_actions: Option<u32>,
    /// Credited quantity per local day (cycling: 15 km).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_quantity: Option<Quantity>,
    /// Credited grams per local day (walking: 296 g).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_grams: Option<Grams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_grams: Option<Grams>,
}

/// What one user has been credited for one action type in one period (a local day or month).
/// Only credited actions count: a report that was refused or credited 0 g leaves no trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub actions: u32,
    /// Thousandths of the action's unit, as in `Quantity::milli`.
    pub quantity_milli: u64,
    pub grams: Grams,
}

/// The user's usage of an action type in the current local day and month (see `day_key` and
/// `month_key`), as the ledger writer loads it before deciding a credit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSoFar {
    pub day: Usage,
    pub month: Usage,
}

/// Which limit cut a credit, named as in the methodology file and in API answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapApplied {
    DailyActions,
    MonthlyActions,
    DailyQuantity,
    MonthlyQuantity,
    DailyGrams,
    MonthlyGrams,
    /// The dedup key (e.g. this household's bill this month) was already credited.
    Dedup,
}

impl CapApplied {
    pub fn as_str(self) -> &'static str {
        match self {
            CapApplied::DailyActions => "daily_actions",
            CapApplied::MonthlyActions => "monthly_actions",
            CapApplied::DailyQuantity => "daily_quantity",
            CapApplied::MonthlyQuantity => "monthly_quantity",
            CapApplied::DailyGrams => "daily_grams",
            CapApplied::MonthlyGrams => "monthly_grams",
            CapApplied::Dedup => "dedup",
        }
    }
}

impl fmt::Display for CapApplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What may be credited now for one report, and why it is less than requested if it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapDecision {
    /// What the report is worth before caps (`ActionRule::grams_for`).
    pub requested: Grams,
    /// What to credit now; never more than `requested`. Zero means no ball.
    pub credited: Grams,
    /// The quantity the credit stands for, in thousandths of the unit; what `record` adds to
    /// usage. Zero when nothing is credited.
    pub credited_quantity_milli: u64,
    /// The cap that decided `credited`, when one did.
    pub cap_applied: Option<CapApplied>,
}

impl CapDecision {
    fn nothing(requested: Grams, cap: CapApplied) -> CapDecision {
        CapDecision {
            requested,
            credited: Grams::ZERO,
            credited_quantity_milli: 0,
            cap_applied: Some(cap),
        }
    }

    pub fn is_credited(&self) -> bool {
        self.credited > Grams::ZERO
    }
}

impl Usage {
    fn add(&mut self, decision: &CapDecision) {
        self.actions = self.actions.saturating_add(1);
        self.quantity_milli = self
            .quantity_milli
            .saturating_add(decision.credited_quantity_milli);
        self.grams = Grams::new(self.grams.get().saturating_add(decision.credited.get()));
    }
}

impl UsageSoFar {
    /// Counts a decision in both periods; a decision that credits nothing counts nowhere.
    pub fn record(&mut self, decision: &CapDecision) {
        if decision.is_credited() {
            self.day.add(decision);
            self.month.add(decision);
        }
    }
}

impl ActionRule {
    /// Decides how much of a report of `quantity` to credit now, given what this user was
    /// already credited for this action type today and this month, and whether the report's
    /// dedup key (see `ActionRule::dedup_key`) was already credited.
    ///
    /// Errors are the reasons the report cannot count at all (`grams_for`). Otherwise the
    /// rules apply in this order, and the last one that reduced the credit is named:
    ///
    /// 1. Dedup: a dedup key already credited gives 0 g (`dedup`).
    /// 2. Counts: when the actions credited today (or this month) already reached the cap,
    ///    0 g (`daily_actions`, `monthly_actions`).
    /// 3. Quantity: only the quantity left under the daily and monthly quantity caps counts,
    ///    and the grams are recomputed from it (`daily_quantity`, `monthly_quantity`): 20 km
    ///    with 5 km left today credits the grams of 5 km.
    /// 4. Grams: only the grams left under the daily and monthly grams caps are credited, the
    ///    remainder of a partly used cap (`daily_grams`, `monthly_grams`): 400 g of steps with
    ///    296 g a day credits 296 g.
    ///
    /// When daily and monthly caps bind equally, the daily one is named. The writer then stores
    /// the decision and calls `UsageSoFar::record`, so no cap is ever exceeded.
    pub fn decide(
        &self,
        quantity: Quantity,
        usage: &UsageSoFar,
        dedup: DedupStatus,
    ) -> Result<CapDecision, ActionError> {
        let requested = self.grams_for(quantity)?;
        let rule = self.credit_rule()?;
        if self.dedup.is_some() && dedup == DedupStatus::AlreadyCredited {
            return Ok(CapDecision::nothing(requested, CapApplied::Dedup));
        }
        let caps = &self.caps;
        let count_caps = [
            (
                caps.daily_actions,
                usage.day.actions,
                CapApplied::DailyActions,
            ),
            (
                caps.monthly_actions,
                usage.month.actions,
                CapApplied::MonthlyActions,
            ),
        ];
        for (limit, used, cap) in count_caps {
            if let Some(limit) = limit
                && used >= limit
            {
                return Ok(CapDecision::nothing(requested, cap));
            }
        }

        let mut cap_applied = None;
        let mut quantity_milli = quantity.milli();
        let quantity_caps = [
            (
                caps.daily_quantity,
                usage.day.quantity_milli,
                CapApplied::DailyQuantity,
            ),
            (
                caps.monthly_quantity,
                usage.month.quantity_milli,
                CapApplied::MonthlyQuantity,
            ),
        ];
        for (limit, used, cap) in quantity_caps {
            if let Some(limit) = limit {
                let left = limit.milli().saturating_sub(used);
                if left < quantity_milli {
                    quantity_milli = left;
                    cap_applied = Some(cap);
                }
            }
        }
        let mut credited = match cap_applied {
            // Less quantity is worth at most as many grams, so this fits where `requested` did.
            Some(_) => Grams::new(u64::try_from(rule.grams_floor(quantity_milli)).unwrap_or(0)),
            None => requested,
        };

        let grams_caps = [
            (caps.daily_grams, usage.day.grams, CapApplied::DailyGrams),
            (
                caps.monthly_grams,
                usage.month.grams,
                CapApplied::MonthlyGrams,
            ),
        ];
        for (limit, used, cap) in grams_caps {
            if let Some(limit) = limit {
                let left = limit.checked_sub(used).unwrap_or(Grams::ZERO);
                if left < credited {
                    credited = left;
                    cap_applied = Some(cap);
                }
            }
        }

        debug_assert!(credited <= requested, "a cap never adds energy");
        Ok(CapDecision {
            requested,
            credited,
            credited_quantity_milli: if credited > Grams::ZERO {
                quantity_milli
            } else {
                0
            },
            cap_applied,
        })
    }
}
