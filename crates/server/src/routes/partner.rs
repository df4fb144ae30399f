//! The partner API: signed reports of users' low-carbon actions become energy balls. Caps and
//! household dedup are decided in the writer; `out_biz_no` makes every report idempotent.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, parse_json};
use crate::partner_auth::SignedPartner;
use crate::pseudonym::partner_user_id;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use futures_util::future::join_all;
use openforest_core::methodology::{Quantity, day_key, expires_at, month_key};
use openforest_core::{BallId, Command, Credit, Outcome, PartnerId};
use openforest_store::{Envelope, IdempotencyKey, LinkStatus, Partner};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Reports in one batch at most.
pub const BATCH_ITEMS_MAX: usize = 1_000;
const OUT_BIZ_NO_CHARS_MAX: usize = 64;

/// One low-carbon action a partner reports.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionReport {
    /// The partner's own id for this report (1 to 64 visible ASCII characters): the same id
    /// with the same report answers the same result; with another report, 409.
    pub out_biz_no: String,
    /// The user as this partner knows them (from the user's consent link).
    pub partner_user_id: String,
    /// A methodology action key the partner is allowed to report, e.g. `metro_ride`.
    pub action: String,
    /// How much, in the action's unit (rides, km, steps…); up to 3 decimals where the action
    /// allows fractions.
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    /// For actions counted once per household (e.g. a utility bill): the household account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_value: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BallView {
    pub ball_id: Uuid,
    pub grams: u64,
    pub ripens_at: String,
    /// 72 hours after ripening: uncollected energy then expires.
    pub expires_at: String,
}

/// What a report became.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditView {
    pub out_biz_no: String,
    pub partner_user_id: String,
    pub action: String,
    /// What the methodology gives for the reported quantity.
    pub requested_grams: u64,
    /// What the user's caps let through.
    pub credited_grams: u64,
    /// The cap that reduced the credit (`daily_actions`, `monthly_grams`, `dedup`, …), if any.
    pub cap_applied: Option<String>,
    /// The energy ball made, when anything was credited.
    pub ball: Option<BallView>,
    pub methodology: String,
    pub methodology_version: u32,
    /// True when this answers a repeated `out_biz_no`.
    pub replayed: bool,
}

/// What a partner is told of a credit (in answers and in `action.credited` webhooks): the user
/// appears under this partner's pseudonymous id only.
pub(crate) fn credit_view(
    link_secret: &[u8],
    partner_id: PartnerId,
    outcome: Outcome,
    replayed: bool,
) -> ApiResult<CreditView> {
    let Outcome::Credited {
        out_biz_no,
        user_id,
        action,
        requested_grams,
        credited_grams,
        cap_applied,
        ball,
        methodology,
        methodology_version,
    } = outcome
    else {
        return Err(ApiError::Internal(format!("a report answered {outcome:?}")));
    };
    Ok(CreditView {
        out_biz_no,
        partner_user_id: partner_user_id(link_secret, partner_id, user_id),
        action,
        requested_grams: requested_grams.get(),
        credited_grams: credited_grams.get(),
        cap_applied: cap_applied.map(|cap| cap.as_str().to_string()),
        ball: ball.map(|ball| BallView {
            ball_id: ball.ball_id.uuid(),
            grams: ball.grams.get(),
            ripens_at: rfc3339(ball.ripens_at),
            expires_at: rfc3339(ball.expires_at),
        }),
        methodology,
        methodology_version,
        replayed,
    })
}

fn scope(partner: &Partner) -> String {
    format!("partner:{}", partner.partner_id)
}

fn check_out_biz_no(out_biz_no: &str) -> ApiResult<()> {
    let valid = (1..=OUT_BIZ_NO_CHARS_MAX).contains(&out_biz_no.len())
        && out_biz_no.chars().all(|c| c.is_ascii_graphic());
    if !valid {
        return Err(ApiError::invalid(
            "out_biz_no",
            format!("out_biz_no is 1 to {OUT_BIZ_NO_CHARS_MAX} visible ASCII characters"),
        ));
    }
    Ok(())
}

/// Everything the methodology fixes at report time, checked before the writer sees it.
async fn prepare(
    state: &AppState,
    partner: &Partner,
    report: &ActionReport,
    link: Option<LinkStatus>,
) -> ApiResult<Credit> {
    let energy = state.energy.current();
    let rule = energy.rules.get(&report.action).ok_or_else(|| {
        ApiError::invalid(
            "action",
            format!(
                "unknown action {:?}: methodology {} v{} has {}",
                report.action,
                energy.methodology.name(),
                energy.methodology.version(),
                energy.rules.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    if !partner.allowed_actions.contains(&report.action) {
        return Err(ApiError::ForbiddenField {
            field: "action",
            detail: format!("this partner is not allowed to report {:?}", report.action),
        });
    }
    rule.grams_for(report.quantity)
        .map_err(|err| ApiError::invalid("quantity", err.to_string()))?;
    let link = match link {
        Some(link) => link,
        None => {
            state
                .store
                .linked_user(partner.partner_id, &report.partner_user_id)
                .await?
        }
    };
    let user_id = match link {
        LinkStatus::Linked(user_id) => user_id,
        LinkStatus::Withdrawn => {
            return Err(ApiError::ForbiddenField {
                field: "partner_user_id",
                detail: "this user withdrew their consent for this partner".into(),
            });
        }
        LinkStatus::Unknown => {
            return Err(ApiError::invalid(
                "partner_user_id",
                "no user has linked this partner under this id",
            ));
        }
    };
    let now = state.clock.now();
    let tz = energy.timezone;
    let dedup = rule
        .dedup_key(report.dedup_value.as_deref(), now, tz)
        .map_err(|err| ApiError::invalid("dedup_value", err.to_string()))?;
    let ripens_at = rule.ripens_at(now, tz, energy.ripening_time);
    Ok(Credit {
        partner_id: partner.partner_id,
        user_id,
        ball_id: BallId(openforest_store::new_ball_id(ripens_at)),
        rule: Arc::clone(rule),
        methodology: energy.methodology.name().to_string(),
        methodology_version: energy.methodology.version(),
        quantity: report.quantity,
        day: day_key(now, tz),
        month: month_key(now, tz),
        dedup,
        ripens_at,
        expires_at: expires_at(ripens_at),
        out_biz_no: report.out_biz_no.clone(),
    })
}

/// Credits one report. The writer answers a repeated `out_biz_no` from what it stored; a
/// repeat that no longer passes the checks (consent withdrawn, methodology changed) still
/// gets the stored answer, looked up only when the checks fail.
/// `link` is the report's consent link when the caller already read it (a batch reads all of
/// its links at once).
async fn credit(
    state: &AppState,
    partner: &Partner,
    report: ActionReport,
    link: Option<LinkStatus>,
) -> ApiResult<CreditView> {
    check_out_biz_no(&report.out_biz_no)?;
    let canonical =
        serde_json::to_vec(&report).map_err(|err| ApiError::Internal(err.to_string()))?;
    let fingerprint: [u8; 32] = Sha256::digest(&canonical).into();
    let scope = scope(partner);
    let credit = match prepare(state, partner, &report, link).await {
        Ok(credit) => credit,
        Err(refusal) => {
            return match state
                .store
                .idempotent_outcome(&scope, &report.out_biz_no)
                .await?
            {
                Some((stored, outcome)) if stored == fingerprint => {
                    credit_view(&state.link_secret, partner.partner_id, outcome, true)
                }
                Some(_) => Err(ApiError::IdempotencyConflict),
                None => Err(refusal),
            };
        }
    };
    let executed = state
        .store
        .execute(Envelope {
            command: Command::Credit(Box::new(credit)),
            idempotency: Some(IdempotencyKey {
                scope,
                key: report.out_biz_no,
                fingerprint,
            }),
        })
        .await?;
    credit_view(
        &state.link_secret,
        partner.partner_id,
        executed.outcome,
        executed.replayed,
    )
}

/// Reports one action.
#[utoipa::path(
    post,
    path = "/v1/partner/actions",
    tag = "partners",
    request_body = ActionReport,
    security(("http_signature" = [])),
    responses(
        (status = 201, body = CreditView),
        (status = 401, description = "signature missing, invalid, stale or replayed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "partner disabled, action not allowed, or consent withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "out_biz_no reused with another report", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn report_action(
    State(state): State<AppState>,
    signed: SignedPartner,
) -> ApiResult<(StatusCode, Json<CreditView>)> {
    let report = parse_json::<ActionReport>(&signed.body)?.value;
    let view = credit(&state, &signed.partner, report, None).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 1,000 reports, each judged on its own.
    #[schema(value_type = Vec<ActionReport>)]
    pub items: Vec<serde_json::Value>,
}

/// One report's result in a batch: `result` when it was credited (or replayed), `problem`
/// when it was refused, with the item's index.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemResult {
    pub index: usize,
    pub out_biz_no: Option<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<CreditView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub credited: usize,
    pub refused: usize,
    pub results: Vec<BatchItemResult>,
}

fn item_problem(index: usize, err: ApiError) -> Problem {
    let mut problem = err.problem();
    problem.field = Some(match problem.field {
        Some(field) if !field.is_empty() => format!("items[{index}].{field}"),
        _ => format!("items[{index}]"),
    });
    problem
}

/// Reports up to 1,000 actions at once. Each item is judged on its own: one bad item never
/// sinks the others.
#[utoipa::path(
    post,
    path = "/v1/partner/actions/batch",
    tag = "partners",
    request_body = BatchRequest,
    security(("http_signature" = [])),
    responses(
        (status = 200, description = "per-item results", body = BatchView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no items, or more than 1,000", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn report_batch(
    State(state): State<AppState>,
    signed: SignedPartner,
) -> ApiResult<Json<BatchView>> {
    let items = parse_json::<BatchRequest>(&signed.body)?.value.items;
    if items.is_empty() || items.len() > BATCH_ITEMS_MAX {
        return Err(ApiError::invalid(
            "items",
            format!(
                "a batch holds 1 to {BATCH_ITEMS_MAX} reports, not {}",
                items.len()
            ),
        ));
    }
    let mut first_index: HashMap<String, usize> = HashMap::with_capacity(items.len());
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let report = serde_path_to_error::deserialize::<_, ActionReport>(item).map_err(|err| {
            let field = err.path().to_string();
            ApiError::invalid(
                if field == "." { String::new() } else { field },
                err.into_inner().to_string(),
            )
        });
        let report = report.and_then(|report| {
            if first_index.contains_key(&report.out_biz_no) {
                return Err(ApiError::Conflict {
                    what: "this out_biz_no (earlier in the same batch)",
                    field: "out_biz_no",
                });
            }
            first_index.insert(report.out_biz_no.clone(), index);
            Ok(report)
        });
        parsed.push(report);
    }
    let partner = &signed.partner;
    // One read for every consent link the batch names.
    let pseudonyms: Vec<String> = parsed
        .iter()
        .filter_map(|report| {
            report
                .as_ref()
                .ok()
                .map(|report| report.partner_user_id.clone())
        })
        .collect();
    let links = state
        .store
        .linked_users(partner.partner_id, &pseudonyms)
        .await?;
    let outcomes = join_all(parsed.into_iter().map(|report| {
        let state = &state;
        let links = &links;
        async move {
            let out_biz_no = report.as_ref().ok().map(|report| report.out_biz_no.clone());
            let result = match report {
                Ok(report) => {
                    let link = links.get(&report.partner_user_id).copied();
                    credit(state, partner, report, link).await
                }
                Err(err) => Err(err),
            };
            (out_biz_no, result)
        }
    }))
    .await;
    let mut view = BatchView {
        credited: 0,
        refused: 0,
        results: Vec::with_capacity(outcomes.len()),
    };
    for (index, (out_biz_no, result)) in outcomes.into_iter().enumerate() {
        view.results.push(match result {
            Ok(credit) => {
                view.credited += 1;
                BatchItemResult {
                    index,
                    out_biz_no,
                    status: StatusCode::CREATED.as_u16(),
                    result: Some(credit),
                    problem: None,
                }
            }
            Err(err) => {
                view.refused += 1;
                let problem = item_problem(index, err);
                BatchItemResult {
                    index,
                    out_biz_no,
                    status: problem.status,
                    result: None,
                    problem: Some(problem),
                }
            }
        });
    }
    Ok(Json(view))
}

/// Looks a report up by the partner's `out_biz_no`.
#[utoipa::path(
    get,
    path = "/v1/partner/actions/{out_biz_no}",
    tag = "partners",
    params(("out_biz_no" = String, Path, description = "the partner's id for the report")),
    security(("http_signature" = [])),
    responses(
        (status = 200, body = CreditView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn lookup_action(
    State(state): State<AppState>,
    ApiPath(out_biz_no): ApiPath<String>,
    signed: SignedPartner,
) -> ApiResult<Json<CreditView>> {
    let (_, outcome) = state
        .store
        .idempotent_outcome(&scope(&signed.partner), &out_biz_no)
        .await?
        .ok_or(ApiError::NotFound("report with this out_biz_no"))?;
    Ok(Json(credit_view(
        &state.link_secret,
        signed.partner.partner_id,
        outcome,
        true,
    )?))
}
