//! What makes a certificate checkable by anyone: its proof document (entries, planting
//! records, inclusion proofs, the signed tree head), the same check run online, and the
//! printable PDF with a QR code and the document attached.

use crate::certificate_pdf::{self, CertificatePage, Line};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiPath;
use crate::routes::planting::{certificate_view, find_certificate};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use openforest_core::certificate::{
    CertificateDocument, CertificateProblem, DOCUMENT_FORMAT, HeadEvidence, LogEvidence,
    RecordEvidence, VerifiedCertificate, verify_document,
};
use openforest_core::log::RecordKind;
use openforest_store::PledgeRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// The public web page that checks a certificate for a person (the PDF's QR code points
/// there); the same check as JSON is `/v1/certificates/{number}/verification`.
pub fn verification_url(state: &AppState, certificate_no: &str) -> String {
    format!("{}/verify/{certificate_no}", state.config.public_url())
}

/// Builds the proof document of a pledge against the latest signed head.
pub async fn document(state: &AppState, record: &PledgeRecord) -> ApiResult<CertificateDocument> {
    let head = state
        .store
        .latest_log_head()
        .await?
        .ok_or(ApiError::NotFound(
            "signed tree head (the log has not published one yet)",
        ))?;
    let tree_size = head.head.tree_size;
    state
        .log
        .ensure_size(state.store.as_ref(), tree_size)
        .await?;
    let mut wanted = vec![(
        RecordKind::JournalEntry,
        state.store.pledge_entry_ids(&record.pledge).await?,
    )];
    if let Some(batch) = &record.batch {
        wanted.push((
            RecordKind::Planting,
            state
                .store
                .planting_record_ids(batch.batch.batch_id)
                .await?,
        ));
    }
    let mut records = Vec::new();
    let mut pending = Vec::new();
    for (kind, ids) in wanted {
        let current = state.store.log_records(kind, &ids).await?;
        for id in ids {
            let leaf = state
                .store
                .log_leaf_of(kind, id)
                .await?
                .filter(|leaf| leaf.leaf_index < tree_size);
            let (Some(leaf), Some(found)) =
                (leaf, current.iter().find(|record| record.record_id() == id))
            else {
                pending.push(id);
                continue;
            };
            let proof = state
                .log
                .inclusion_proof(state.store.as_ref(), leaf.leaf_index, tree_size)
                .await?
                .map_err(|err| ApiError::Internal(format!("inclusion proof: {err}")))?;
            records.push(RecordEvidence {
                record: found.clone(),
                leaf_index: leaf.leaf_index,
                inclusion_proof: proof.iter().map(|hash| hash.to_hex()).collect(),
            });
        }
    }
    Ok(CertificateDocument {
        format: DOCUMENT_FORMAT.into(),
        certificate_no: record.pledge.certificate_no.clone(),
        pledge_id: record.pledge.pledge_id.uuid(),
        grams: record.pledge.grams.get(),
        status: record.status().as_str().into(),
        verification_url: verification_url(state, &record.pledge.certificate_no),
        log: LogEvidence {
            public_key: openforest_core::log::merkle::hex_of(
                state.log.key().verifying_key().as_bytes(),
            ),
            head: HeadEvidence::of(&head),
            records,
            pending,
        },
    })
}

/// A certificate's proof document: its journal entries and planting records, each with an
/// inclusion proof to the latest signed tree head. Check it offline with
/// `openforest verify-certificate`.
#[utoipa::path(get, path = "/v1/certificates/{certificate_no}/document", tag = "planting",
    params(("certificate_no" = String, Path)),
    responses((status = 200, description = "the proof document (openforest-certificate/1)", body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn certificate_document(
    State(state): State<AppState>,
    ApiPath(certificate_no): ApiPath<String>,
) -> ApiResult<Json<CertificateDocument>> {
    let record = find_certificate(&state, &certificate_no).await?;
    Ok(Json(document(&state, &record).await?))
}

/// A certificate's proof document and what checking it with this log's key found.
pub(crate) struct Checked {
    pub document: CertificateDocument,
    pub checked: Result<VerifiedCertificate, Vec<CertificateProblem>>,
}

/// Checks a certificate exactly as `openforest verify-certificate` does offline (the API's
/// verification and the public verification page).
pub(crate) async fn check(state: &AppState, record: &PledgeRecord) -> ApiResult<Checked> {
    let document = document(state, record).await?;
    let checked = verify_document(&document, &state.log.key().verifying_key());
    Ok(Checked { document, checked })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub certificate_no: String,
    /// True when every record is in the signed log and the certificate's claims match them.
    pub valid: bool,
    /// The furthest status the log proves (`pledged`, `planted`, `verified`).
    pub proven_status: Option<String>,
    pub status: String,
    pub tree_size: u64,
    pub root_hash: String,
    /// What failed, each naming the record at fault.
    pub problems: Vec<String>,
}

/// Checks a certificate online exactly as `openforest verify-certificate` does offline: the
/// records' leaf hashes, their inclusion proofs, the head's signature with this log's key.
#[utoipa::path(get, path = "/v1/certificates/{certificate_no}/verification", tag = "planting",
    params(("certificate_no" = String, Path)),
    responses((status = 200, body = VerificationView),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn verification(
    State(state): State<AppState>,
    ApiPath(certificate_no): ApiPath<String>,
) -> ApiResult<Json<VerificationView>> {
    let record = find_certificate(&state, &certificate_no).await?;
    let Checked { document, checked } = check(&state, &record).await?;
    let (valid, proven_status, problems) = match checked {
        Ok(verified) => (true, Some(verified.proven_status), Vec::new()),
        Err(problems) => (
            false,
            None,
            problems.iter().map(CertificateProblem::to_string).collect(),
        ),
    };
    Ok(Json(VerificationView {
        certificate_no: document.certificate_no,
        valid,
        proven_status,
        status: document.status,
        tree_size: document.log.head.tree_size,
        root_hash: document.log.head.root_hash,
        problems,
    }))
}

/// The printable certificate (A4 PDF): what it certifies, a QR code to its verification
/// page, and its proof document attached as `certificate.json`.
#[utoipa::path(get, path = "/v1/certificates/{certificate_no}/pdf", tag = "planting",
    params(("certificate_no" = String, Path)),
    responses((status = 200, description = "the certificate", content_type = "application/pdf"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn certificate_pdf(
    State(state): State<AppState>,
    ApiPath(certificate_no): ApiPath<String>,
) -> ApiResult<Response> {
    let record = find_certificate(&state, &certificate_no).await?;
    let view = certificate_view(&state, &record, &mut Default::default()).await?;
    let document = document(&state, &record).await?;
    let document_json = serde_json::to_vec_pretty(&document)
        .map_err(|err| ApiError::Internal(format!("certificate document: {err}")))?;
    let what = match &view.item.scientific_name {
        Some(scientific) => format!("{} {} ({scientific})", view.units, view.item.name),
        None => format!("{} m2 of {}", view.units, view.item.name),
    };
    let mut lines = vec![
        Line {
            label: "Certifies".into(),
            value: what,
        },
        Line {
            label: "Energy".into(),
            value: format!("{} g of CO2e avoided by low-carbon actions", view.grams),
        },
        Line {
            label: "Held by".into(),
            value: view
                .holders
                .iter()
                .map(|holder| {
                    format!(
                        "{} ({}.{}%)",
                        holder.handle,
                        holder.share_permille / 10,
                        holder.share_permille % 10
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        },
        Line {
            label: "Planted by".into(),
            value: view
                .ngo
                .as_ref()
                .map(|ngo| ngo.name.clone())
                .unwrap_or_default(),
        },
        Line {
            label: "Site".into(),
            value: view
                .site
                .as_ref()
                .map(|site| format!("{}, {}", site.name, site.region))
                .unwrap_or_default(),
        },
        Line {
            label: "Season".into(),
            value: view.season.clone(),
        },
        Line {
            label: "Pledged".into(),
            value: view.pledged_at.clone(),
        },
    ];
    if let Some(planting) = &view.planting {
        lines.push(Line {
            label: "Planted on".into(),
            value: format!(
                "{} at {:.5}, {:.5}",
                planting.planted_on, planting.latitude, planting.longitude
            ),
        });
        lines.push(Line {
            label: "Verified".into(),
            value: planting
                .verified_at
                .clone()
                .unwrap_or_else(|| "not yet".into()),
        });
    }
    lines.push(Line {
        label: "Funded by".into(),
        value: view.lineage_summary.clone(),
    });
    lines.push(Line {
        label: "Signed log head".into(),
        value: format!(
            "size {}, root {}",
            document.log.head.tree_size, document.log.head.root_hash
        ),
    });
    let page = CertificatePage {
        title: "openforest certificate".into(),
        certificate_no: view.certificate_no.clone(),
        status: format!("{} (pledged > ordered > planted > verified)", view.status),
        lines,
        verification_url: document.verification_url.clone(),
        document_json,
    };
    let bytes = certificate_pdf::render(&page).map_err(ApiError::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.pdf\"", view.certificate_no),
            ),
        ],
        bytes,
    )
        .into_response())
}
