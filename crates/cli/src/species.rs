//! `openforest species`: checking the operator's species data files before a start.

use clap::Subcommand;
use openforest_core::species::{Category, SetKind};
use openforest_server::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum SpeciesCommand {
    /// Check species data files as the server would read them: the bundled catalog, then
    /// every *.toml in DIR (default: the configured species.data_dir). Prints what the
    /// catalog holds and the odds; exits non-zero at the first error, naming file, line, field.
    Check {
        /// A directory of data files to check instead of the configured one.
        dir: Option<PathBuf>,
        /// Leave the bundled catalog out (as `species.bundled = false` does).
        #[arg(long)]
        no_bundled: bool,
    },
}

pub fn run(config: &Config, command: SpeciesCommand) -> anyhow::Result<ExitCode> {
    let SpeciesCommand::Check { dir, no_bundled } = command;
    let mut settings = config.species.clone();
    if let Some(dir) = dir {
        settings.data_dir = dir.display().to_string();
    }
    if no_bundled {
        settings.bundled = false;
    }
    let (catalog, odds) = openforest_server::species::load(&settings)?;
    let themed = catalog
        .sets()
        .iter()
        .filter(|set| set.kind == SetKind::Themed)
        .count();
    println!(
        "ok: {} species, {} sets ({themed} themed, {} by habitat or region)",
        catalog.len(),
        catalog.sets().len(),
        catalog.sets().len() - themed
    );
    for category in Category::ALL {
        let species = catalog
            .species()
            .filter(|species| species.category == category)
            .count();
        println!(
            "  {} {:<22} {:>4} species, {:>6.2} % of draws",
            category.code(),
            category.title(),
            species,
            odds.probability(category) * 100.0
        );
    }
    println!("pool fingerprint: {}", odds.fingerprint());
    Ok(ExitCode::SUCCESS)
}
