//! Structured logs: one JSON object per line, the event's fields at the top
//! level, so the template's metric filters can match them
//! (`{ $.alarm = "ses_deferred" }`, `{ $.poison IS TRUE }`). The level comes
//! from `RUST_LOG`, else from Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`:
//! a level, or `target=level` directives separated by commas
//! (`info,outreach_aws=debug`). Not `tracing_subscriber`'s `EnvFilter`, whose
//! span and field directives need a regular-expression engine in every
//! bootstrap (issue 20).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The first of `RUST_LOG`, `AWS_LAMBDA_LOG_LEVEL` that is set and reads as
/// directives, else `info`.
fn filter() -> Targets {
    filter_from(|var| std::env::var(var).ok())
}

fn filter_from(var: impl Fn(&str) -> Option<String>) -> Targets {
    ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"]
        .into_iter()
        .filter_map(var)
        .find_map(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
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
        .with_writer(writer)
        .finish()
        .with(filter())
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
    fn the_level_comes_from_rust_log_then_lambda_then_info() {
        use tracing::Level;
        let from = |rust_log: Option<&str>, lambda: Option<&str>| {
            super::filter_from(|var| match var {
                "RUST_LOG" => rust_log.map(String::from),
                "AWS_LAMBDA_LOG_LEVEL" => lambda.map(String::from),
                _ => None,
            })
        };
        let default = from(None, None);
        assert!(default.would_enable("outreach_app", &Level::INFO));
        assert!(!default.would_enable("outreach_app", &Level::DEBUG));
        // Lambda's advanced logging controls set the level in capitals.
        let lambda = from(None, Some("DEBUG"));
        assert!(lambda.would_enable("outreach_app", &Level::DEBUG));
        assert!(!lambda.would_enable("outreach_app", &Level::TRACE));
        let directives = from(Some("warn,outreach_aws=debug"), Some("TRACE"));
        assert!(directives.would_enable("outreach_aws::ses", &Level::DEBUG));
        assert!(!directives.would_enable("outreach_app", &Level::INFO));
        assert!(directives.would_enable("outreach_app", &Level::WARN));
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
