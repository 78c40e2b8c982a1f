//! Local mode assembled (SPEC §14): everything `outreach-local` serves, built
//! from a data folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Utc};
use outreach_app::auth::Hs256Authenticator;
use outreach_app::ports::IdSource;
use outreach_app::{Config, Ports, Service};
use rand::RngCore;

use crate::{Db, LocalClock, LocalRuntime, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

pub struct LocalOptions {
    pub data: PathBuf,
    pub port: u16,
    /// `Some(start)` for a manual clock starting at `start`.
    pub manual_clock: Option<DateTime<Utc>>,
    pub initial_credits: i64,
}

/// The HTTP app (API, `/dev` routes) and the runtime that fires wake-ups.
pub struct LocalApp {
    pub router: Router,
    pub runtime: Arc<LocalRuntime>,
    pub manual_clock: bool,
}

const SECRET_FILE: &str = "jwt-secret";

/// The HS256 secret of a data folder, created on first use.
pub fn token_secret(data: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::create_dir_all(data)?;
    let path = data.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(s.trim().as_bytes().to_vec()),
        _ => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let tmp = data.join(format!("{SECRET_FILE}.tmp"));
            std::fs::write(&tmp, &hex)?;
            std::fs::rename(&tmp, &path)?;
            Ok(hex.into_bytes())
        }
    }
}

impl LocalApp {
    pub fn open(options: &LocalOptions) -> Result<LocalApp, String> {
        let secret = token_secret(&options.data)
            .map_err(|e| format!("cannot use the data folder {}: {e}", options.data.display()))?;
        let db = Db::open(&options.data.join("outreach.db"))
            .map_err(|e| {
                format!(
                    "cannot open the database in {} (is another outreach-local using this data folder?): {e}",
                    options.data.display()
                )
            })?;
        let clock = Arc::new(match options.manual_clock {
            Some(start) => LocalClock::manual(db.clone(), start),
            None => LocalClock::System,
        });
        let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
        let scheduler = Arc::new(LocalScheduler::new(db.clone()));
        let outbox = Arc::new(
            OutboxMailer::new(
                db.clone(),
                options.data.join("outbox"),
                clock.clone(),
                ids.clone(),
            )
            .map_err(|e| format!("cannot create the outbox folder: {e}"))?,
        );
        let mut config = Config::local(options.port);
        config.initial_credits = options.initial_credits;
        let service = Service::new(
            Ports {
                store: Arc::new(SqliteStore::new(db)),
                scheduler: scheduler.clone(),
                mailer: outbox.clone(),
                clock: clock.clone(),
                ids,
                auth: Arc::new(Hs256Authenticator::new(&secret)),
                identities: outbox.clone(),
                queue: scheduler.clone(),
            },
            config,
        );
        let runtime = LocalRuntime::new(service.clone(), scheduler, clock, outbox, secret);
        let router = outreach_app::http::router(service.clone())
            .merge(outreach_app::dev::router(service, runtime.clone()))
            .merge(outreach_app::console::router());
        Ok(LocalApp {
            router,
            runtime,
            manual_clock: options.manual_clock.is_some(),
        })
    }
}
