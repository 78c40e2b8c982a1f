//! Local mode's raw inbound mail: every message `/dev/inbound`
//! matches is kept as a private `.eml` file in the data folder's `inbound/`,
//! named by its SHA-256 (a duplicate delivery is one file), until erasure
//! deletes it. Its `raw_ref` is `local:inbound/{sha256}.eml`.

use std::io::ErrorKind;
use std::path::PathBuf;

use async_trait::async_trait;
use outreach_app::ports::{RawMail, RawMailError, RawMessage, content_name};

use crate::folder;

const PREFIX: &str = "local:inbound/";

/// The data folder's `inbound/`.
pub struct InboundFolder {
    dir: PathBuf,
}

impl InboundFolder {
    /// `dir` is made (private) when the first message is kept.
    pub fn new(dir: PathBuf) -> Self {
        InboundFolder { dir }
    }

    /// The file a `raw_ref` of ours names; `None` for anything else, so that
    /// a reference never reaches outside the folder.
    fn file(&self, raw_ref: &str) -> Option<PathBuf> {
        let name = raw_ref.strip_prefix(PREFIX)?;
        let hash = name.strip_suffix(".eml")?;
        let ours = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        ours.then(|| self.dir.join(name))
    }
}

fn failed(e: std::io::Error) -> RawMailError {
    RawMailError(e.to_string())
}

#[async_trait]
impl RawMail for InboundFolder {
    async fn keep(&self, raw: &[u8]) -> Result<Option<String>, RawMailError> {
        let raw_ref = format!("{PREFIX}{}.eml", content_name(raw));
        let path = self.file(&raw_ref).expect("a name of ours");
        if !path.exists() {
            folder::private_dir(&self.dir).map_err(failed)?;
            folder::write_private(&path, raw).map_err(failed)?;
        }
        Ok(Some(raw_ref))
    }

    async fn read(&self, raw_ref: &str) -> Result<RawMessage, RawMailError> {
        let Some(path) = self.file(raw_ref) else {
            return Ok(RawMessage::Gone);
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(RawMessage::Kept(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(RawMessage::Gone),
            Err(e) => Err(failed(e)),
        }
    }

    async fn forget(&self, raw_ref: &str) -> Result<(), RawMailError> {
        let Some(path) = self.file(raw_ref) else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_is_kept_once_read_back_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let folder = InboundFolder::new(dir.path().join("inbound"));
        let raw = b"From: a@b.example\r\n\r\nHi\r\n";
        let r = folder.keep(raw).await.unwrap().expect("kept");
        assert_eq!(folder.keep(raw).await.unwrap(), Some(r.clone()));
        assert_eq!(
            folder.read(&r).await.unwrap(),
            RawMessage::Kept(raw.to_vec())
        );
        folder.forget(&r).await.unwrap();
        folder.forget(&r).await.unwrap();
        assert_eq!(folder.read(&r).await.unwrap(), RawMessage::Gone);
        for foreign in [
            "local:inbound/../db.sqlite",
            "s3://b/k",
            "local:inbound/x.eml",
        ] {
            assert_eq!(folder.read(foreign).await.unwrap(), RawMessage::Gone);
        }
    }
}
