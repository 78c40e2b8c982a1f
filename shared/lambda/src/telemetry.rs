//! Structured logs: one JSON object per line, the event's fields at the top
//! level, so the template's metric filters can match them
//! (`{ $.alarm = "ses_deferred" }`, `{ $.poison IS TRUE }`). The level comes
//! from `RUST_LOG`, else from Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The subscriber of a function, writing to `writer`.
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .with_env_filter(filter())
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on standard output (CloudWatch Logs).
pub fn init_tracing() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout));
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("the buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn alarm_fields_sit_at_the_top_level_of_each_line() {
        // The template's metric filters read `$.alarm` and `$.poison`.
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = super::json_subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(
                alarm = "ses_deferred",
                enrollment = "enr_1",
                "the mail service refused the send"
            );
            tracing::error!(poison = true, trigger = "inbound", "dropped");
        });
        let text = String::from_utf8(lines.0.lock().expect("the buffer").clone()).expect("UTF-8");
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(parsed[0]["alarm"], "ses_deferred");
        assert_eq!(parsed[0]["level"], "ERROR");
        assert_eq!(parsed[1]["poison"], true);
    }
}
