//! Statistics: counts, rates and the median time to first reply
//! over a range, grouped; JSON, or CSV with `Accept: text/csv`.

use chrono::{DateTime, Utc};
use outreach_domain::inbound::ReplyClass;

use super::*;
use crate::stats::StatsLine;
use crate::usecases::campaigns::stats::GroupBy;

/// The query of `GET /v1/stats`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// `campaign` (default), `step`, `sender`, `template` or `user` (the
    /// campaign's owner). Single messages count under the campaign key
    /// `single`; steps given inline under the template key `inline`.
    #[serde(default)]
    group_by: Option<String>,
    /// The range's start (RFC 3339, included), on a quarter hour; default:
    /// 30 days before `to`.
    #[serde(default)]
    from: Option<String>,
    /// The range's end (RFC 3339, excluded), on a quarter hour, at most 400
    /// days after `from`; default: the next quarter hour.
    #[serde(default)]
    to: Option<String>,
}

/// The answer of `GET /v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsPage {
    pub items: Vec<StatsLine>,
}

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

fn time(field: &str, given: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(given)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::invalid(field, "an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"))
}

/// The organization's statistics over a range.
///
/// Each event counts at its own time: messages sent (every hand-off),
/// delivered, hard-bounced, first replies by class, automatic replies,
/// unsubscribes and complaints, with each rate over sent and the median
/// time from a step's send to the first reply to it. `from` and `to` fall on
/// quarter hours (the counters' granularity; every time zone's day starts on
/// one). With `Accept: text/csv` the same lines as CSV.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "stats",
    security(("bearer" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "The statistics, one line per key (CSV with `Accept: text/csv`)",
         body = StatsPage),
    ),
)]
async fn get_stats(
    State(s): Svc,
    who: Identity,
    headers: axum::http::HeaderMap,
    Params(q): Params<StatsQuery>,
) -> ApiResult {
    // Every field's error at once (§13).
    let by = GroupBy::parse(q.group_by.as_deref().unwrap_or("campaign"));
    let to = q.to.as_deref().map(|t| time("to", t)).transpose();
    let from = q.from.as_deref().map(|f| time("from", f)).transpose();
    let (by, from, to) = match (by, from, to) {
        (Ok(by), Ok(from), Ok(to)) => (by, from, to),
        (by, from, to) => {
            let errors = [by.err(), from.err(), to.err()]
                .into_iter()
                .flatten()
                .flat_map(|e| match e {
                    Error::Invalid { errors, .. } => errors,
                    _ => Vec::new(),
                })
                .collect();
            return Err(Error::invalid_many(errors));
        }
    };
    let to = to.unwrap_or_else(|| crate::stats::default_to(s.now()));
    let from = from.unwrap_or(to - chrono::Duration::days(crate::stats::DEFAULT_DAYS));
    let items = s.campaigns().stats(&who, by, from, to).await?;
    let wants_csv = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prefers_csv);
    if wants_csv {
        let body = csv_of(&items)?;
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            body,
        )
            .into_response());
    }
    ok(StatsPage { items })
}

/// Whether an `Accept` header prefers CSV to JSON (RFC 9110: media types
/// compared without case, `q` weights honoured; JSON on a tie).
fn prefers_csv(accept: &str) -> bool {
    let (mut csv, mut json) = (0.0_f32, 0.0_f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            // `text/*` admits CSV and not JSON (RFC 9110 §12.5.1).
            "text/csv" | "text/*" => csv = csv.max(q),
            "application/json" | "application/*" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    csv > 0.0 && csv > json
}

/// The lines as CSV: one column per count, one per reply class, the rates
/// and the median (empty when undefined).
fn csv_of(items: &[StatsLine]) -> Result<String, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["key".to_owned()];
    header.extend(
        ["sent", "delivered", "bounced", "replied"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    header.extend(
        ReplyClass::ALL
            .iter()
            .map(|c| format!("replied_{}", c.as_str())),
    );
    header.extend(
        [
            "auto_replies",
            "unsubscribed",
            "complaints",
            "reply_rate",
            "bounce_rate",
            "median_time_to_reply_s",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    let internal = |e: csv::Error| Error::Internal(format!("csv: {e}"));
    w.write_record(&header).map_err(internal)?;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for l in items {
        let mut row = vec![
            spreadsheet_safe(&l.key),
            l.sent.to_string(),
            l.delivered.to_string(),
            l.bounced.to_string(),
            l.replied.to_string(),
        ];
        row.extend(ReplyClass::ALL.iter().map(|c| {
            l.replied_by_class
                .get(c.as_str())
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        row.extend([
            l.auto_replies.to_string(),
            l.unsubscribed.to_string(),
            l.complaints.to_string(),
            opt(l.reply_rate),
            opt(l.bounce_rate),
            opt(l.median_time_to_reply_s),
        ]);
        w.write_record(&row).map_err(internal)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}

/// A CSV cell a spreadsheet shows as text (OWASP "CSV injection"): a value
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return would run as
/// a formula, so it gets a leading `'`; a number is left as it is. Keys are
/// ids and names users chose (a user id may be `+2+3`, R-1.2).
fn spreadsheet_safe(value: &str) -> String {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{prefers_csv, spreadsheet_safe};

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_quoted_as_text() {
        // Issue 21: a user id `+2+3` as the key of `group_by=user`.
        for (given, written) in [
            ("+2+3", "'+2+3"),
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("-cmd", "'-cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("alice", "alice"),
            ("cmp_1", "cmp_1"),
            ("-1.5", "-1.5"),
            ("+3", "+3"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(given), written, "{given:?}");
        }
    }

    #[test]
    fn accept_picks_csv_by_weight_whatever_the_case() {
        assert!(prefers_csv("text/csv"));
        assert!(prefers_csv("TEXT/CSV"));
        assert!(prefers_csv("Text/Csv; charset=utf-8"));
        assert!(prefers_csv("application/json;q=0.5, text/csv"));
        assert!(!prefers_csv("application/json, text/csv;q=0.1"));
        assert!(!prefers_csv("*/*"));
        assert!(!prefers_csv("text/csv;q=0"));
        assert!(prefers_csv("text/*"), "only CSV is text");
        assert!(!prefers_csv("text/*;q=0.5, application/json"));
        assert!(!prefers_csv("application/json"));
    }
}
