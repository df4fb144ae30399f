//! Interoperability with OpenSSL: the README's shell walkthrough, run as written, must produce
//! signatures this crate verifies, from keys this crate reads.

use super::{
    CONTENT_DIGEST, KeyId, Nonce, RequestParts, SIGNATURE, SIGNATURE_INPUT, Signer, SigningKey,
    Verifier, VerifyingKey,
};
use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../README.md");
const WALKTHROUGH_MARKER: &str = "<!-- openssl-walkthrough -->";

/// The project's policy for a missing component (as in `openforest-testkit`): skip with a
/// message, or fail when CI sets `OPENFOREST_TEST_REQUIRE_ALL=1`.
fn skip_or_fail(reason: &str) {
    if std::env::var("OPENFOREST_TEST_REQUIRE_ALL").is_ok_and(|value| value == "1") {
        panic!("openssl is required (OPENFOREST_TEST_REQUIRE_ALL=1) but unavailable: {reason}");
    }
    eprintln!("SKIPPED: openssl unavailable: {reason}");
}

/// `Some(version)` when an `openssl` that signs raw Ed25519 (`pkeyutl -rawin`, 3.0+) is on the
/// path.
fn openssl_3() -> Option<String> {
    let output = Command::new("openssl").arg("version").output();
    let version = match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => {
            skip_or_fail(&format!("`openssl version` failed: {}", output.status));
            return None;
        }
        Err(error) => {
            skip_or_fail(&format!("cannot run `openssl`: {error}"));
            return None;
        }
    };
    let major = version
        .strip_prefix("OpenSSL ")
        .and_then(|rest| rest.split('.').next())
        .and_then(|major| major.parse::<u32>().ok());
    if major.is_none_or(|major| major < 3) {
        skip_or_fail(&format!("{version} cannot sign raw Ed25519; OpenSSL 3 can"));
        return None;
    }
    Some(version)
}

/// The first ```sh block after the marker in the README.
fn walkthrough() -> &'static str {
    let after_marker = README
        .split_once(WALKTHROUGH_MARKER)
        .map(|(_, rest)| rest)
        .expect("the README marks its openssl walkthrough");
    let block = after_marker
        .split_once("```sh\n")
        .map(|(_, rest)| rest)
        .expect("a ```sh block follows the marker");
    block
        .split_once("\n```")
        .map(|(script, _)| script)
        .expect("the block is closed")
}

fn run_script(dir: &Path, script: &str) {
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(dir)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "the script failed ({}):\n{script}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn now_unix() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit an i64")
}

#[test]
fn a_signature_made_by_the_readme_openssl_walkthrough_verifies() {
    let Some(version) = openssl_3() else { return };
    eprintln!("checking the README walkthrough with {version}");
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // The README's block as written, then the values it computed, written out for this test.
    let script = format!(
        "{}\n\
         printf '%s' \"$method\" > out-method\n\
         printf '%s' \"$path\" > out-path\n\
         printf '%s' \"$digest\" > out-content-digest\n\
         printf '%s' \"sig1=$params\" > out-signature-input\n\
         printf '%s' \"sig1=:$signature:\" > out-signature\n",
        walkthrough()
    );
    run_script(dir, &script);

    let body = std::fs::read(dir.join("body.json")).unwrap();
    let method = read(dir, "out-method");
    let path = read(dir, "out-path");
    let content_digest = read(dir, "out-content-digest");
    let signature_input = read(dir, "out-signature-input");
    let signature = read(dir, "out-signature");
    let request = RequestParts {
        method: &method,
        path_and_query: &path,
        body: &body,
    };
    let headers = [
        (CONTENT_DIGEST, content_digest.as_str()),
        (SIGNATURE_INPUT, signature_input.as_str()),
        (SIGNATURE, signature.as_str()),
    ];

    // The public key as the README tells the partner to send it, and the one this crate
    // derives from the openssl-made private key, are the same.
    let registered = VerifyingKey::from_base64(&read(dir, "public.txt")).unwrap();
    let private = SigningKey::parse(&read(dir, "key.pem")).unwrap();
    assert_eq!(private.verifying_key(), registered);

    let verified = Verifier::default()
        .verify(&request, &headers[..], now_unix(), |key_id| {
            (key_id.as_str() == "metro-2024").then_some(registered)
        })
        .unwrap_or_else(|error| {
            panic!(
                "openssl's signature does not verify: {error}\nbase.txt:\n{}\nheaders: {headers:#?}",
                read(dir, "base.txt")
            )
        });

    // Ed25519 is deterministic: this crate, given the same key, time and nonce, builds the
    // same base byte for byte and so makes the same signature.
    let signer = Signer::new(verified.key_id.clone(), private);
    let ours = signer
        .sign_with_nonce(&request, verified.created_unix, &verified.nonce)
        .unwrap();
    assert_eq!(ours.signature_base, read(dir, "base.txt"));
    assert_eq!(ours.signature_input, signature_input);
    assert_eq!(ours.content_digest, content_digest);
    assert_eq!(ours.signature, signature);
}

#[test]
fn a_key_generated_here_signs_in_openssl_and_verifies_here() {
    if openssl_3().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = SigningKey::generate();
    std::fs::write(dir.join("key.pem"), key.expose_pkcs8_pem()).unwrap();
    let signer = Signer::new(KeyId::parse("bus-2019").unwrap(), key.clone());
    let request = RequestParts {
        method: "GET",
        path_and_query: "/v1/actions?after=a-1",
        body: b"",
    };
    let created_unix = 1_700_000_000;
    let signed = signer
        .sign_with_nonce(&request, created_unix, &Nonce::generate())
        .unwrap();
    std::fs::write(dir.join("base.txt"), &signed.signature_base).unwrap();
    run_script(
        dir,
        "openssl pkeyutl -sign -rawin -inkey key.pem -in base.txt | openssl base64 -A > sig.txt\n\
         openssl pkey -in key.pem -pubout > public.pem",
    );

    assert_eq!(
        signed.signature,
        format!("sig1=:{}:", read(dir, "sig.txt").trim())
    );
    assert_eq!(
        VerifyingKey::parse(&read(dir, "public.pem")).unwrap(),
        key.verifying_key()
    );
    let headers = signed.header_pairs();
    let verified = Verifier::default()
        .verify(&request, &headers[..], created_unix, |_| {
            Some(key.verifying_key())
        })
        .unwrap();
    assert_eq!(verified.key_id.as_str(), "bus-2019");
}
