//! `openforest verify`: replays the journal, recomputes every balance and checks
//! conservation. Exits non-zero on any mismatch, naming the account or entry at fault.

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
    store.shutdown().await;
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
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
        println!(
            "{}",
            if report.is_sound() {
                "OK: every balance matches the journal and every issued gram is held or expired"
            } else {
                "FAILED: the ledger does not balance"
            }
        );
    }
    Ok(if report.is_sound() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
