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

use crate::inbound_mail::InboundFolder;
use crate::{
    Db, LocalClock, LocalRuntime, LocalScheduler, OutboxMailer, RandomIds, SqliteStore, folder,
    guard,
};

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
const HASH_KEY_FILE: &str = "hash-key";
const DATABASE_FILE: &str = "outreach.db";

/// The key of the keyed hashes of data folders made before each folder had
/// its own (SPEC §14): such a folder keeps it, or the suppressions recorded
/// under it would no longer match their addresses.
pub const LEGACY_HASH_KEY: &[u8] = b"outreach-local";

/// The HS256 secret of a data folder, created on first use. The
/// folder is made private first (SPEC §14).
pub fn token_secret(data: &Path) -> std::io::Result<Vec<u8>> {
    folder::private_dir(data)?;
    let path = data.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(s.trim().as_bytes().to_vec()),
        // A new folder: the server and `outreach-local token` may both get
        // here at once; the first secret written is the folder's (issue 20:
        // the load bench's token was signed with a secret the server lost).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hex = random_hex();
            if folder::create_private_durably(&path, hex.as_bytes())? {
                return Ok(hex.into_bytes());
            }
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        _ => {
            let hex = random_hex();
            folder::write_private_durably(&path, hex.as_bytes())?;
            Ok(hex.into_bytes())
        }
    }
}

/// 32 random bytes, in hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key of the data folder's keyed hashes (R-3.6, SPEC §14): random, made
/// with the folder and kept in it (0600). A folder with data but no key file
/// was made by a version that used [`LEGACY_HASH_KEY`] for every folder; it
/// keeps that key, recorded in its key file from then on.
pub fn hash_key(data: &Path, db: &Db) -> Result<Vec<u8>, String> {
    let path = data.join(HASH_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(hex) => {
            return decode_hex(hex.trim()).ok_or_else(|| {
                format!(
                    "{} is damaged (not a key in hex); restore it from a backup: \
                     suppressed addresses are matched through it",
                    path.display()
                )
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let legacy = db
        .has_data()
        .map_err(|e| format!("cannot read the database: {e}"))?;
    let (key, hex) = if legacy {
        tracing::warn!(
            data = %data.display(),
            "this data folder predates per-folder hash keys and keeps the shared one"
        );
        let hex: String = LEGACY_HASH_KEY.iter().map(|b| format!("{b:02x}")).collect();
        (LEGACY_HASH_KEY.to_vec(), hex)
    } else {
        let hex = random_hex();
        (decode_hex(&hex).unwrap_or_default(), hex)
    };
    folder::write_private_durably(&path, hex.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

impl LocalApp {
    pub fn open(options: &LocalOptions) -> Result<LocalApp, String> {
        let unusable = |e: std::io::Error| {
            format!("cannot use the data folder {}: {e}", options.data.display())
        };
        let secret = token_secret(&options.data).map_err(unusable)?;
        // Folders and files made before the folder was private (SPEC §14).
        folder::tighten(&options.data).map_err(unusable)?;
        // SQLite gives its WAL file the database file's mode.
        let db_path = options.data.join(DATABASE_FILE);
        folder::private_file(&db_path).map_err(unusable)?;
        let db = Db::open(&db_path)
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
        config.hash_key = hash_key(&options.data, &db)?;
        let service = Service::keeping_raw_mail(
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
            Arc::new(InboundFolder::new(options.data.join("inbound"))),
        );
        let runtime = LocalRuntime::new(service.clone(), scheduler, clock, outbox, secret);
        // Loopback Hosts only, no cross-site changes to /dev (SPEC §14).
        let router = guard::protect(
            outreach_app::http::router(service.clone())
                .merge(outreach_app::dev::router(service, runtime.clone()))
                .merge(outreach_app::console::router()),
        );
        Ok(LocalApp {
            router,
            runtime,
            manual_clock: options.manual_clock.is_some(),
        })
    }
}
