//! `openforest verify-certificate <file>`: checks a certificate offline, with nothing but the
//! operator's public key. The file is the proof document (JSON) or the certificate's PDF, which
//! carries the document as its `certificate.json` attachment.

use anyhow::{Context, bail};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use openforest_core::certificate::{CertificateDocument, public_key_from_hex, verify_document};
use std::path::Path;
use std::process::ExitCode;

/// The operator's key: 64 hex characters, the base64 `public_key` of `GET /v1/log/key`, or a
/// file holding its PEM `PUBLIC KEY` block.
pub fn parse_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let text = text.trim();
    if let Some(key) = public_key_from_hex(text) {
        return Ok(key);
    }
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text)
        && let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return VerifyingKey::from_bytes(&bytes).context("not an Ed25519 public key");
    }
    let pem = std::fs::read_to_string(text).with_context(|| {
        format!("--public-key is neither a key (hex or base64) nor a readable file: {text}")
    })?;
    VerifyingKey::from_public_key_pem(pem.trim())
        .context("the file is not a PEM Ed25519 public key")
}

/// The proof document inside a certificate PDF (its embedded `certificate.json`).
fn document_in_pdf(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let pdf = lopdf::Document::load_mem(bytes).context("the PDF cannot be read")?;
    for object in pdf.objects.values() {
        if let lopdf::Object::Stream(stream) = object
            && stream
                .dict
                .get(b"Type")
                .and_then(|kind| kind.as_name())
                .is_ok_and(|name| name == b"EmbeddedFile")
        {
            return Ok(stream
                .decompressed_content()
                .unwrap_or_else(|_| stream.content.clone()));
        }
    }
    bail!("the PDF has no attached proof document (certificate.json)")
}

pub fn read_document(path: &Path) -> anyhow::Result<CertificateDocument> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let json = if bytes.starts_with(b"%PDF") {
        document_in_pdf(&bytes)?
    } else {
        bytes
    };
    serde_json::from_slice(&json).context("the proof document is not valid JSON of its format")
}

pub fn run(path: &Path, public_key: &str, json: bool) -> anyhow::Result<ExitCode> {
    let key = parse_key(public_key)?;
    let document = read_document(path)?;
    let checked = verify_document(&document, &key);
    if json {
        let answer = match &checked {
            Ok(verified) => serde_json::json!({"valid": true, "certificate": verified}),
            Err(problems) => serde_json::json!({"valid": false, "problems": problems}),
        };
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        match &checked {
            Ok(verified) => {
                println!("certificate       {}", verified.certificate_no);
                println!("energy            {} g, proven by the log", verified.grams);
                println!("proven status     {}", verified.proven_status);
                println!(
                    "records           {} in the signed tree of size {} (root {})",
                    verified.records, verified.tree_size, verified.root_hash
                );
                println!(
                    "OK: every record is in the operator's signed log and matches the certificate"
                );
            }
            Err(problems) => {
                for problem in problems {
                    println!("PROBLEM           {problem}");
                }
                println!("FAILED: the certificate does not check out");
            }
        }
    }
    Ok(if checked.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
