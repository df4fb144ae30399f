//! `openforest verify`: replays the journal, recomputes every balance and checks
//! conservation, then checks the transparency log against the journal and its signed head.
//! Exits non-zero on any mismatch, naming the account, entry or leaf at fault.

use openforest_server::config::Config;
use openforest_store::SystemClock;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let store = crate::settings::open_store(config, Arc::new(SystemClock)).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {bar:40} {pos}/{len} entries ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let report = store
        .audit(Arc::new(move |done, total| {
            progress_bar.set_length(total);
            progress_bar.set_position(done);
        }))
        .await;
    bar.finish_and_clear();
    let log_report = match report {
        Ok(_) => Some(audit_log(store.as_ref(), config).await),
        Err(_) => None,
    };
    store.shutdown().await;
    let report = report?;
    let log_report = log_report.transpose()?.unwrap_or_default();
    let sound = report.is_sound() && log_report.is_sound();
    if json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("log".into(), serde_json::to_value(&log_report)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("journal entries   {}", report.entries);
        println!("accounts          {}", report.accounts);
        println!("issued            {} g", report.issued_grams);
        println!("held              {} g", report.held_grams);
        println!("expired           {} g", report.expired_grams);
        for problem in &report.problems {
            println!("PROBLEM           {}", serde_json::to_string(problem)?);
        }
        if report.issued_grams != report.held_grams + report.expired_grams {
            println!("PROBLEM           issued grams are not all held or expired");
        }
        println!("log leaves        {}", log_report.leaves);
        println!("signed tree size  {}", log_report.signed_tree_size);
        println!(
            "not yet logged    {} (recent: the sequencer will take them)",
            log_report.pending_records
        );
        for problem in &log_report.problems {
            println!("PROBLEM           {}", serde_json::to_string(problem)?);
        }
        println!(
            "{}",
            if sound {
                "OK: every balance matches the journal, every issued gram is held or expired, and the log matches the journal and its signed head"
            } else if !report.is_sound() {
                "FAILED: the ledger does not balance"
            } else {
                "FAILED: the transparency log does not match the journal or its signed head"
            }
        );
    }
    Ok(if sound {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The log audit, with its own progress bar over the leaves.
async fn audit_log(
    store: &dyn openforest_store::Store,
    config: &Config,
) -> Result<openforest_core::log::LogAuditReport, openforest_store::StoreError> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "checking the log {bar:40} {pos}/{len} leaves ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let report = openforest_store::log::audit_log(
        store,
        config.transparency.late_commit_grace_ms,
        Arc::new(move |done, total| {
            progress_bar.set_length(total);
            progress_bar.set_position(done);
        }),
    )
    .await;
    bar.finish_and_clear();
    report
}
