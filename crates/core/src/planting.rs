//! Planting: redeeming energy for a tree or for protected land. A pledge moves the cost from a
//! wallet (or from the members' shares of a co-planting pot) to pledge accounts, one per
//! holder, and counts against the item's quota, all decided in the writer so concurrent
//! requests can never oversell a quota.

use crate::account::Account;
use crate::clock::Timestamp;
use crate::command::{Outcome, Rejection};
use crate::entry::{Entry, EntryKind};
use crate::grams::Grams;
use crate::ids::{CatalogItemId, EntryId, GroupId, PledgeId, UserId};
use crate::state::{BatchState, UsageKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a catalog item sells: whole trees, or square metres of protected land.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Tree,
    Land,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Tree => "tree",
            ItemKind::Land => "land",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "tree" => Some(ItemKind::Tree),
            "land" => Some(ItemKind::Land),
            _ => None,
        }
    }

    /// The unit one pledge counts in: trees or square metres.
    pub fn unit(self) -> &'static str {
        match self {
            ItemKind::Tree => "tree",
            ItemKind::Land => "m2",
        }
    }
}

/// The most units one pledge may take: one tree at a time as in the app, land by the m².
pub const TREES_PER_PLEDGE_MAX: u64 = 1;
pub const SQUARE_METRES_PER_PLEDGE_MAX: u64 = 10_000;

/// The usage action under which an item's pledged units are counted (period `all`, owned by
/// the nil user): the writer loads and locks this row, so the quota check is serialised.
pub fn quota_key(item_id: CatalogItemId) -> UsageKey {
    UsageKey {
        user_id: UserId(Uuid::nil()),
        action: smol_str::format_smolstr!("quota:{}", item_id.uuid()),
        period: crate::harvest::ALL_TIME.into(),
    }
}

/// Where a pledge's energy comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlantSource {
    /// The planter's wallet.
    Wallet,
    /// A co-planting pot: each member's share pays in proportion to its size.
    Pot {
        group_id: GroupId,
        members: Vec<UserId>,
    },
}

/// A pledge to plant: decided in the writer against balances and the item's quota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plant {
    pub planter_id: UserId,
    pub pledge_id: PledgeId,
    pub item_id: CatalogItemId,
    pub kind: ItemKind,
    /// Grams per tree or per m².
    pub unit_grams: Grams,
    pub units: u64,
    /// The item's quota in units; pledges never take more in total.
    pub quota_units: u64,
    pub source: PlantSource,
    /// The planting season the pledge falls in (`2027 spring`), which groups it into an order.
    pub season: String,
    /// The planter's Amazing Species card for this pledge, drawn before it is sent: the writer
    /// logs it with the pledge, in the same transaction, if the planter holds a share.
    pub card: Option<crate::species::SpeciesDraw>,
}

/// A pledge as the writer records it, with who holds how much of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pledge {
    pub pledge_id: PledgeId,
    pub item_id: CatalogItemId,
    pub planter_id: UserId,
    pub group_id: Option<GroupId>,
    pub units: u64,
    pub grams: Grams,
    pub season: String,
    pub certificate_no: String,
    pub holders: Vec<Holder>,
    pub created_at: Timestamp,
}

/// One holder of a pledge and the grams they paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user_id: UserId,
    pub grams: Grams,
}

impl Plant {
    pub fn cost(&self) -> Option<Grams> {
        self.unit_grams
            .get()
            .checked_mul(self.units)
            .map(Grams::new)
            .filter(|grams| *grams <= Grams::MAX_MOVEMENT)
    }

    /// The accounts the pledge pays from.
    pub fn payers(&self) -> Vec<Account> {
        match &self.source {
            PlantSource::Wallet => vec![Account::Wallet {
                user_id: self.planter_id,
            }],
            PlantSource::Pot { group_id, members } => members
                .iter()
                .map(|member_id| Account::Pot {
                    group_id: *group_id,
                    member_id: *member_id,
                })
                .collect(),
        }
    }

    fn units_max(&self) -> u64 {
        match self.kind {
            ItemKind::Tree => TREES_PER_PLEDGE_MAX,
            ItemKind::Land => SQUARE_METRES_PER_PLEDGE_MAX,
        }
    }
}

pub(crate) fn decide_plant(
    plant: &Plant,
    state: &mut BatchState,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    if plant.units == 0 || plant.units > plant.units_max() {
        return Err(Rejection::Invalid {
            field: "units",
            reason: format!(
                "a pledge takes 1 to {} {}",
                plant.units_max(),
                plant.kind.unit()
            ),
        });
    }
    let cost = plant.cost().ok_or(Rejection::Invalid {
        field: "units",
        reason: "that many units cost more than one pledge may move".into(),
    })?;
    let quota_key = quota_key(plant.item_id);
    let mut quota = state.usage(&quota_key);
    let taken = quota.quantity_milli / 1000;
    let left = plant.quota_units.saturating_sub(taken);
    if plant.units > left {
        return Err(Rejection::Rule {
            rule: "quota_sold_out",
            detail: format!(
                "only {left} {} of this item are left in its quota",
                plant.kind.unit()
            ),
        });
    }
    let payers = plant.payers();
    let balances: Vec<Grams> = payers
        .iter()
        .map(|account| state.book.balance(account))
        .collect();
    let shares = split_cost(cost, &balances).ok_or_else(|| Rejection::Rule {
        rule: "insufficient_energy",
        detail: format!(
            "planting this costs {} g and only {} g are available",
            cost.get(),
            balances.iter().map(|grams| grams.get()).sum::<u64>()
        ),
    })?;
    let mut entries = Vec::new();
    let mut holders = Vec::new();
    for (n, (payer, grams)) in payers.iter().zip(shares).enumerate() {
        if grams == Grams::ZERO {
            continue;
        }
        let holder = match payer {
            Account::Pot { member_id, .. } => *member_id,
            _ => plant.planter_id,
        };
        // Each movement needs its own id; the first takes the batch's, later ones derive
        // from it so a replayed decision names the same entries.
        let id = if n == 0 {
            entry_id
        } else {
            EntryId(derived_id(entry_id.uuid(), n))
        };
        entries.push(Entry {
            entry_id: id,
            user_id: holder,
            at,
            kind: EntryKind::Pledge,
            from: *payer,
            to: Account::Pledge {
                user_id: holder,
                pledge_id: plant.pledge_id,
            },
            grams,
            reference: Some(format!("pledge {}", plant.pledge_id)),
        });
        holders.push(Holder {
            user_id: holder,
            grams,
        });
    }
    state.book.post(&entries)?;
    // Largest share first, as certificates list their holders.
    holders.sort_by(|a, b| b.grams.cmp(&a.grams).then(a.user_id.cmp(&b.user_id)));
    quota.actions = quota.actions.saturating_add(1);
    quota.quantity_milli = quota
        .quantity_milli
        .saturating_add(plant.units.saturating_mul(1000));
    quota.grams = quota.grams.checked_add(cost).unwrap_or(quota.grams);
    state.set_usage(quota_key, quota);
    let pledge = Pledge {
        pledge_id: plant.pledge_id,
        item_id: plant.item_id,
        planter_id: plant.planter_id,
        group_id: match &plant.source {
            PlantSource::Pot { group_id, .. } => Some(*group_id),
            PlantSource::Wallet => None,
        },
        units: plant.units,
        grams: cost,
        season: plant.season.clone(),
        certificate_no: certificate_no(plant.pledge_id),
        holders,
        created_at: at,
    };
    state.add_pledge(pledge.clone());
    if let Some(card) = &plant.card
        && pledge
            .holders
            .iter()
            .any(|holder| holder.user_id == card.user_id)
    {
        state.add_species_draw(card.clone());
    }
    let wallet_grams = state.book.balance(&Account::Wallet {
        user_id: plant.planter_id,
    });
    Ok((
        Outcome::Pledged {
            entry_id,
            pledge: Box::new(pledge),
            wallet_grams,
        },
        entries,
    ))
}

/// A further id derived from a command's entry id (the `n`th), keeping the UUIDv7 time prefix.
fn derived_id(base: Uuid, n: usize) -> Uuid {
    let mut bytes = *base.as_bytes();
    let n = u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes();
    bytes[14] ^= n[0];
    bytes[15] ^= n[1];
    Uuid::from_bytes(bytes)
}

/// Splits `cost` over holders in proportion to their balances, largest remainders first (ties
/// to the earlier holder), so the parts add up to `cost` exactly and no part exceeds its
/// balance. `None` when the balances together hold less than `cost`.
pub fn split_cost(cost: Grams, balances: &[Grams]) -> Option<Vec<Grams>> {
    let total: u128 = balances.iter().map(|grams| u128::from(grams.get())).sum();
    let cost_wide = u128::from(cost.get());
    if total < cost_wide {
        return None;
    }
    if cost_wide == 0 {
        return Some(vec![Grams::ZERO; balances.len()]);
    }
    let mut parts: Vec<u128> = Vec::with_capacity(balances.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(balances.len());
    for (n, balance) in balances.iter().enumerate() {
        let exact = cost_wide * u128::from(balance.get());
        parts.push(exact / total);
        remainders.push((exact % total, n));
    }
    let mut short = cost_wide - parts.iter().sum::<u128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (remainder, n) in remainders {
        if short == 0 {
            break;
        }
        if remainder > 0 {
            parts[n] += 1;
            short -= 1;
        }
    }
    Some(
        parts
            .into_iter()
            .map(|part| Grams::new(u64::try_from(part).unwrap_or(u64::MAX)))
            .collect(),
    )
}

/// The certificate number of a pledge: `OF-` and ten Crockford base-32 characters taken from
/// the random part of its UUIDv7, in two groups (`OF-7K3MQ-9QXD2`). Easy to read aloud, no
/// I/O/L/U to confuse.
pub fn certificate_no(pledge_id: PledgeId) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = pledge_id.uuid().as_bytes().to_owned();
    // The last 8 bytes hold 62 random bits of a UUIDv7 (after the variant bits); 50 are used.
    let mut random = u64::from_be_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ]);
    let mut chars = Vec::with_capacity(10);
    for _ in 0..10 {
        chars.push(ALPHABET[(random & 31) as usize] as char);
        random >>= 5;
    }
    let text: String = chars.into_iter().collect();
    format!("OF-{}-{}", &text[..5], &text[5..])
}

/// Whether `text` is shaped like a certificate number (case-insensitive).
pub fn parse_certificate_no(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("OF-")?;
    let (first, second) = rest.split_once('-')?;
    let valid = |part: &str| {
        part.len() == 5
            && part
                .bytes()
                .all(|byte| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&byte))
    };
    (valid(first) && valid(second)).then_some(upper)
}

/// A planting season of an item: a name and the months it spans (`3..=5`, or `11..=2` across
/// the new year).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Season {
    pub name: String,
    pub from_month: u8,
    pub to_month: u8,
}

impl Season {
    pub fn is_valid(&self) -> bool {
        !self.name.trim().is_empty()
            && self.name.chars().count() <= 40
            && (1..=12).contains(&self.from_month)
            && (1..=12).contains(&self.to_month)
    }

    fn contains(&self, month: u8) -> bool {
        if self.from_month <= self.to_month {
            (self.from_month..=self.to_month).contains(&month)
        } else {
            month >= self.from_month || month <= self.to_month
        }
    }
}

/// The season a pledge made in `year`/`month` is planted in: the season running now, or else
/// the next one to start (`2027 spring`). With no seasons, the year is the season.
pub fn season_label(seasons: &[Season], year: i32, month: u8) -> String {
    if let Some(season) = seasons.iter().find(|season| season.contains(month)) {
        // A season across the new year is named after the year it starts in.
        let start_year = if season.from_month > season.to_month && month <= season.to_month {
            year - 1
        } else {
            year
        };
        return format!("{start_year} {}", season.name);
    }
    let next = (1..=12u8)
        .map(|ahead| {
            let month0 = u32::from(month) - 1 + u32::from(ahead);
            (
                year + i32::try_from(month0 / 12).unwrap_or(0),
                (month0 % 12) as u8 + 1,
            )
        })
        .find_map(|(year, month)| {
            seasons
                .iter()
                .find(|season| season.from_month == month)
                .map(|season| format!("{year} {}", season.name))
        });
    next.unwrap_or_else(|| year.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(values: &[u64]) -> Vec<Grams> {
        values.iter().copied().map(Grams::new).collect()
    }

    #[test]
    fn a_pot_pays_in_proportion_to_each_members_share() {
        let parts = split_cost(Grams::new(100), &grams(&[300, 100])).unwrap_or_default();
        assert_eq!(parts, grams(&[75, 25]));
        let parts = split_cost(Grams::new(10), &grams(&[10, 10, 10])).unwrap_or_default();
        assert_eq!(parts.iter().map(|g| g.get()).sum::<u64>(), 10);
        assert_eq!(parts, grams(&[4, 3, 3]));
    }

    #[test]
    fn no_member_pays_more_than_their_share() {
        for cost in 0..=60u64 {
            let balances = grams(&[7, 0, 13, 40]);
            let parts = split_cost(Grams::new(cost), &balances).unwrap_or_default();
            assert_eq!(parts.iter().map(|g| g.get()).sum::<u64>(), cost);
            for (part, balance) in parts.iter().zip(&balances) {
                assert!(part <= balance, "{cost}: {part} > {balance}");
            }
        }
        assert_eq!(split_cost(Grams::new(61), &grams(&[7, 0, 13, 40])), None);
    }

    #[test]
    fn certificate_numbers_are_readable_and_parse_back() {
        let number = certificate_no(PledgeId(Uuid::now_v7()));
        assert_eq!(number.len(), 14);
        assert_eq!(parse_certificate_no(&number.to_lowercase()), Some(number));
        assert_eq!(parse_certificate_no("OF-ILOU0-00000"), None);
    }

    #[test]
    fn a_pledge_falls_in_the_running_or_next_season() {
        let seasons = vec![
            Season {
                name: "spring".into(),
                from_month: 3,
                to_month: 5,
            },
            Season {
                name: "winter".into(),
                from_month: 11,
                to_month: 1,
            },
        ];
        assert_eq!(season_label(&seasons, 2026, 4), "2026 spring");
        assert_eq!(season_label(&seasons, 2026, 7), "2026 winter");
        assert_eq!(season_label(&seasons, 2027, 1), "2026 winter");
        assert_eq!(season_label(&seasons, 2026, 2), "2026 spring");
        assert_eq!(season_label(&[], 2026, 2), "2026");
    }
}
