//! `openforest admin …` and `openforest operator-key …`: the accounts an operator creates
//! from the command line (the first admin cannot be created through the API).

use anyhow::Context;
use clap::Subcommand;
use openforest_core::{Clock, Handle, Role, UserId};
use openforest_server::auth::{Secret, hash_password};
use openforest_server::config::Config;
use openforest_store::{NewUser, OperatorKey, SystemClock};
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an admin account. Prints a generated password unless --password-stdin is given.
    Create {
        #[arg(long)]
        handle: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum OperatorKeyCommand {
    /// Create a key; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        name: String,
    },
}

pub async fn admin(config: &Config, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let AdminCommand::Create {
        handle,
        password_stdin,
    } = command;
    let handle = Handle::parse(&handle).map_err(|err| anyhow::anyhow!("--handle: {err}"))?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (
            Secret::generate("").expose().chars().take(20).collect(),
            true,
        )
    };
    anyhow::ensure!(
        (8..=256).contains(&password.chars().count()),
        "a password has 8 to 256 characters"
    );
    let clock = SystemClock;
    let store = crate::settings::open_store(config, Arc::new(clock)).await?;
    let created = store
        .create_user(NewUser {
            user_id: UserId(openforest_store::new_id(clock.now())),
            handle: handle.clone(),
            role: Role::Admin,
            password_hash: Some(
                hash_password(password.clone())
                    .await
                    .map_err(|err| anyhow::anyhow!("{err}"))?,
            ),
            created_at: clock.now(),
        })
        .await;
    store.shutdown().await;
    let user = created.with_context(|| format!("creating admin {handle}"))?;
    println!("admin {} created (user id {})", user.handle, user.user_id);
    if generated {
        println!("password: {password}");
        println!("log in with POST /v1/sessions; keep this password safe, it is not shown again");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn operator_key(
    config: &Config,
    command: OperatorKeyCommand,
) -> anyhow::Result<ExitCode> {
    let OperatorKeyCommand::Create { name } = command;
    let name = name.trim().to_string();
    anyhow::ensure!(
        (1..=64).contains(&name.chars().count()),
        "--name has 1 to 64 characters"
    );
    let clock = SystemClock;
    let store = crate::settings::open_store(config, Arc::new(clock)).await?;
    let secret = Secret::generate("ofk_");
    let key = OperatorKey {
        key_id: openforest_store::new_id(clock.now()),
        name: name.clone(),
        created_at: clock.now(),
        revoked_at: None,
    };
    let created = store
        .create_operator_key(key.clone(), secret.sha256())
        .await;
    store.shutdown().await;
    created.with_context(|| format!("creating operator key {name}"))?;
    println!("operator key {name} created (id {})", key.key_id);
    println!("key: {}", secret.expose());
    println!(
        "send it as Authorization: Bearer <key> to POST /v1/operator/sessions; it is not shown again"
    );
    Ok(ExitCode::SUCCESS)
}
