//! The public check of a certificate, for a person (no sign-in): enter or paste a number, or
//! arrive from the PDF's QR code, and see whether it holds up: the same check as
//! `GET /v1/certificates/{number}/verification` (and `openforest verify-certificate` offline),
//! what was checked (the log's signature, every record's inclusion, the grams, the status),
//! the certificate's facts, and which record failed when one does.

use super::certificates::{Fact, Step, certificate_map, facts, status_text, steps};
use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use crate::error::ApiError;
use crate::routes::certificates::{Checked, check};
use crate::routes::planting::{Histories, certificate_view, find_certificate};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openforest_core::certificate::CertificateProblem;
use openforest_core::planting::parse_certificate_no;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    page: Layout,
    /// What was typed, shown again.
    number: String,
    error: Option<String>,
    result: Option<Outcome>,
}

/// What checking found.
struct Outcome {
    number: String,
    /// `valid`, `invalid` or `pending` (a CSS class too).
    verdict: &'static str,
    verdict_text: String,
    checks: Vec<CheckLine>,
    problems: Vec<String>,
    name: String,
    status_text: String,
    steps: Vec<Step>,
    facts: Vec<Fact>,
    map: String,
    log_text: Option<String>,
}

struct CheckLine {
    /// `passed`, `failed` or `pending`.
    state: &'static str,
    state_text: String,
    label: String,
}

/// The four things a check proves, and which problems belong to each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aspect {
    Signature,
    Inclusion,
    Grams,
    Status,
}

fn aspect(problem: &CertificateProblem) -> Aspect {
    match problem {
        CertificateProblem::UnknownFormat
        | CertificateProblem::OtherKey { .. }
        | CertificateProblem::BadHead { .. } => Aspect::Signature,
        CertificateProblem::NotIncluded { .. }
        | CertificateProblem::Unrelated { .. }
        | CertificateProblem::Pending { .. } => Aspect::Inclusion,
        CertificateProblem::GramsDiffer { .. } => Aspect::Grams,
        CertificateProblem::StatusUnproven { .. } => Aspect::Status,
    }
}

fn record_kind(lang: Lang, kind: &str) -> String {
    if kind == "planting" {
        lang.t("verify-record-planting")
    } else {
        lang.t("verify-record-entry")
    }
}

/// A problem in words, naming the record at fault.
fn problem_text(lang: Lang, problem: &CertificateProblem) -> String {
    match problem {
        CertificateProblem::UnknownFormat => lang.t("verify-problem-format"),
        CertificateProblem::OtherKey { .. } => lang.t("verify-problem-other-key"),
        CertificateProblem::BadHead { reason } => {
            lang.t1("verify-problem-bad-head", "reason", reason.clone())
        }
        CertificateProblem::NotIncluded {
            kind,
            record_id,
            leaf_index,
            reason,
        } => lang.tn(
            "verify-problem-not-included",
            vec![
                ("record", record_id.to_string().into()),
                ("kind", record_kind(lang, kind).into()),
                ("leaf", (*leaf_index).into()),
                ("reason", reason.clone().into()),
            ],
        ),
        CertificateProblem::Unrelated { record_id, .. } => {
            lang.t1("verify-problem-unrelated", "record", record_id.to_string())
        }
        CertificateProblem::GramsDiffer { proven, claimed } => lang.tn(
            "verify-problem-grams",
            vec![("proven", (*proven).into()), ("claimed", (*claimed).into())],
        ),
        CertificateProblem::StatusUnproven { status, event } => lang.tn(
            "verify-problem-status",
            vec![
                ("status", status_text(lang, status).into()),
                ("event", status_text(lang, event).into()),
            ],
        ),
        CertificateProblem::Pending { count } => lang.t1("verify-problem-pending", "count", *count),
    }
}

fn check_lines(lang: Lang, checked: Option<&Checked>) -> Vec<CheckLine> {
    let problems: &[CertificateProblem] = match checked.map(|checked| &checked.checked) {
        Some(Err(problems)) => problems,
        _ => &[],
    };
    [
        (Aspect::Signature, "verify-check-signature"),
        (Aspect::Inclusion, "verify-check-inclusion"),
        (Aspect::Grams, "verify-check-grams"),
        (Aspect::Status, "verify-check-status"),
    ]
    .into_iter()
    .map(|(which, key)| {
        let mine: Vec<&CertificateProblem> = problems
            .iter()
            .filter(|problem| aspect(problem) == which)
            .collect();
        let state = if checked.is_none()
            || (!mine.is_empty()
                && mine
                    .iter()
                    .all(|problem| matches!(problem, CertificateProblem::Pending { .. })))
        {
            "pending"
        } else if mine.is_empty() {
            "passed"
        } else {
            "failed"
        };
        CheckLine {
            state,
            state_text: lang.t(&format!("verify-check-{state}")),
            label: lang.t(key),
        }
    })
    .collect()
}

async fn outcome(
    state: &AppState,
    lang: Lang,
    record: &openforest_store::PledgeRecord,
) -> Result<Outcome, ApiError> {
    let view = certificate_view(state, record, &mut Histories::default()).await?;
    let checked = match check(state, record).await {
        Ok(checked) => Some(checked),
        // The log has not published a signed head yet: nothing can be proven so far.
        Err(ApiError::NotFound(what)) if what.starts_with("signed tree head") => None,
        Err(err) => return Err(err),
    };
    let (verdict, problems) = match checked.as_ref().map(|checked| &checked.checked) {
        Some(Ok(_)) => ("valid", Vec::new()),
        Some(Err(problems))
            if problems
                .iter()
                .all(|problem| matches!(problem, CertificateProblem::Pending { .. })) =>
        {
            (
                "pending",
                problems.iter().map(|p| problem_text(lang, p)).collect(),
            )
        }
        Some(Err(problems)) => (
            "invalid",
            problems.iter().map(|p| problem_text(lang, p)).collect(),
        ),
        None => ("pending", vec![lang.t("verify-problem-no-head")]),
    };
    let log_text = checked.as_ref().map(|checked| {
        let head = &checked.document.log.head;
        lang.tn(
            "verify-log",
            vec![
                ("size", head.tree_size.into()),
                ("root", head.root_hash.clone().into()),
            ],
        )
    });
    let proven = match checked.as_ref().map(|checked| &checked.checked) {
        Some(Ok(verified)) => Some(verified.proven_status.clone()),
        _ => None,
    };
    Ok(Outcome {
        number: view.certificate_no.clone(),
        verdict,
        verdict_text: match (verdict, proven) {
            ("valid", Some(proven)) => {
                lang.t1("verify-valid", "status", status_text(lang, &proven))
            }
            ("valid", None) => lang.t1("verify-valid", "status", String::new()),
            _ => lang.t(&format!("verify-{verdict}")),
        },
        checks: check_lines(lang, checked.as_ref()),
        problems,
        name: view.item.name.clone(),
        status_text: status_text(lang, &view.status),
        steps: steps(lang, &view.status),
        facts: facts(lang, &view),
        map: certificate_map(lang, &view),
        log_text,
    })
}

fn form(
    context: &PageContext,
    status: StatusCode,
    number: String,
    error: Option<String>,
    result: Option<Outcome>,
) -> Result<Response, PageError> {
    let page = VerifyPage {
        page: context.layout(),
        number,
        error,
        result,
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((status, context.jar(), html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    number: Option<String>,
}

/// `/verify`: the form; with `?number=` it goes on to that certificate's check.
pub async fn page(
    context: PageContext,
    Query(query): Query<VerifyQuery>,
) -> Result<Response, PageError> {
    let typed = query.number.unwrap_or_default();
    if typed.trim().is_empty() {
        return form(&context, StatusCode::OK, String::new(), None, None);
    }
    match parse_certificate_no(&typed) {
        Some(number) => Ok(Redirect::to(&format!("/verify/{number}")).into_response()),
        None => {
            let error = Some(context.lang.t("verify-bad-number"));
            form(
                &context,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                error,
                None,
            )
        }
    }
}

/// `/verify/{number}`: the check of one certificate, for anyone.
pub async fn result(
    State(state): State<AppState>,
    context: PageContext,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let Some(canonical) = parse_certificate_no(&number) else {
        let error = Some(lang.t("verify-bad-number"));
        return form(
            &context,
            StatusCode::UNPROCESSABLE_ENTITY,
            number,
            error,
            None,
        );
    };
    let record = match find_certificate(&state, &canonical).await {
        Ok(record) => record,
        Err(ApiError::NotFound(_)) => {
            let error = Some(lang.t1("verify-unknown", "number", canonical.clone()));
            return form(&context, StatusCode::NOT_FOUND, canonical, error, None);
        }
        Err(err) => return Err(context.error(err)),
    };
    let found = outcome(&state, lang, &record)
        .await
        .map_err(|err| context.error(err))?;
    form(&context, StatusCode::OK, canonical, None, Some(found))
}
