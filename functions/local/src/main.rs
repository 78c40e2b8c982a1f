//! `outreach-local`: the whole service on one machine (SPEC §14).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use outreach_embedded::local::{LocalApp, LocalOptions, token_secret};

#[derive(Parser)]
#[command(
    about = "Outreach in local mode: the API on 127.0.0.1, an embedded store, an outbox of .eml files"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[arg(long, default_value = "./.outreach", global = true)]
    data: PathBuf,
    #[arg(long, value_enum, default_value_t = ClockKind::System)]
    clock: ClockKind,
    /// Start of the manual clock (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    #[arg(long, default_value_t = 100)]
    initial_credits: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClockKind {
    System,
    Manual,
}

#[derive(Subcommand)]
enum Command {
    /// Print a bearer token for a user of an organization.
    Token {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        admin: bool,
    },
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    if let Some(Command::Token {
        org,
        user,
        email,
        admin,
    }) = &cli.command
    {
        let secret = token_secret(&cli.data).map_err(|e| e.to_string())?;
        let now = Utc::now().timestamp() as u64;
        let token = outreach_app::auth::issue_hs256(
            &secret,
            org,
            user,
            email.as_deref(),
            *admin,
            now,
            365 * 86_400,
        )?;
        println!("{token}");
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let manual_clock = (cli.clock == ClockKind::Manual).then(|| cli.now.unwrap_or_else(Utc::now));
    let app = LocalApp::open(&LocalOptions {
        data: cli.data.clone(),
        port: cli.port,
        manual_clock,
        initial_credits: cli.initial_credits,
    })?;
    if app.manual_clock {
        tokio::spawn(app.runtime.clone().run_manual_clock());
    } else {
        tokio::spawn(app.runtime.clone().run_system_clock());
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cli.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", cli.port))?;
    tracing::info!(port = cli.port, data = %cli.data.display(), "outreach-local listening on http://127.0.0.1:{}", cli.port);
    axum::serve(listener, app.router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
