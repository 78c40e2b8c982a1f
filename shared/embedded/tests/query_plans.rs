//! Every query of the local adapters reaches its rows through an index that
//! matches it: none walks a whole table, a whole kind of document or a whole
//! organization, and none sorts its rows in a temporary tree. Local mode holds
//! campaigns of 100,000 enrollments (issue 8); a query that scans grows with
//! them. An index of too few columns once made every candidate write scan the
//! organization's addresses (180 writes a second at 100,000 candidates).
//!
//! The queries are read from the adapters' source, so a new query is checked
//! without being listed here; SQLite's planner says how it would run each one
//! on the schema that `Db` creates.

use outreach_embedded::db::Db;

/// The adapters' source files that hold queries: every file of the store,
/// the scheduler and the outbox.
fn sources() -> Vec<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let store = std::fs::read_dir(src.join("store")).expect("the store's folder");
    let mut files: Vec<_> = store
        .map(|entry| entry.expect("a store file").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files.extend([src.join("scheduler.rs"), src.join("outbox.rs")]);
    files
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).expect("a source file");
            (path.display().to_string(), source)
        })
        .collect()
}

/// Queries that read a whole table on purpose, and why.
const WHOLE_TABLE: [(&str, &str); 3] = [
    (
        "SELECT COUNT(*) FROM wakeups",
        "the number of pending wake-ups, read by the bench and the fan-out tests",
    ),
    (
        "SELECT org, campaign FROM completion_checks",
        "the pending completion checks, a bounded page: the sweeper clears each it reads (issue 19)",
    ),
    (
        "SELECT body FROM outbox ORDER BY seq",
        "the whole outbox, listed by the developer API of local mode",
    ),
];

/// The SQL string literals of a Rust source that read, change or delete rows.
fn queries(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let literal = joined(&after[..end]);
        let head = literal.trim_start();
        if ["SELECT ", "DELETE ", "UPDATE "]
            .iter()
            .any(|k| head.starts_with(k))
        {
            out.push(literal);
        }
        rest = &after[end + 1..];
    }
    out
}

/// A Rust string literal's text as the compiler reads it: a `\` at the end
/// of a line skips the line break and the next line's leading whitespace.
fn joined(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    let mut rest = literal;
    while let Some(at) = rest.find("\\\n") {
        out.push_str(&rest[..at]);
        rest = rest[at + 2..].trim_start();
    }
    out.push_str(rest);
    out
}

fn plan(db: &Db, sql: &str) -> Vec<String> {
    let conn = db.lock();
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("the query does not prepare: {e}\n{sql}"));
    let n = stmt.parameter_count();
    let params: Vec<i64> = vec![1; n];
    stmt.query_map(rusqlite::params_from_iter(params), |row| {
        row.get::<_, String>(3)
    })
    .expect("a plan")
    .map(|r| r.expect("a plan row"))
    .collect()
}

#[test]
fn every_query_uses_an_index_that_fits_it() {
    let db = Db::in_memory().expect("a database");
    let mut checked = 0;
    let mut faults = Vec::new();
    for (file, source) in sources() {
        for sql in queries(&source) {
            checked += 1;
            let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let allowed = WHOLE_TABLE.iter().any(|(q, _)| one_line.starts_with(q));
            for step in plan(&db, &sql) {
                let scans = step.starts_with("SCAN ") && !allowed;
                let sorts = step.contains("TEMP B-TREE");
                // A search bounded only by the kind of document or the
                // organization walks all of them (except in `orgs`, whose key
                // is the organization).
                let too_wide = step.ends_with("(kind=?)")
                    || (step.ends_with("(org=?)") && !step.starts_with("SEARCH orgs "));
                if scans || sorts || too_wide {
                    faults.push(format!("{file}: {one_line}\n    => {step}"));
                }
            }
        }
    }
    assert!(
        checked >= 30,
        "only {checked} queries found: has the source layout changed?"
    );
    assert!(
        faults.is_empty(),
        "queries without a fitting index:\n{}",
        faults.join("\n")
    );
}

#[test]
fn the_checks_catch_a_query_without_a_fitting_index() {
    // The same checks on queries known to be bad, so that a change to SQLite's
    // wording cannot make the test above pass by matching nothing.
    let db = Db::in_memory().expect("a database");
    let scan = plan(&db, "SELECT body FROM docs WHERE body = ?1");
    assert!(scan.iter().any(|s| s.starts_with("SCAN ")), "{scan:?}");
    let sort = plan(&db, "SELECT id FROM docs WHERE kind = ?1 ORDER BY body");
    assert!(sort.iter().any(|s| s.contains("TEMP B-TREE")), "{sort:?}");
    let wide = plan(
        &db,
        "SELECT 1 FROM suppressions WHERE org = ?1 AND reason = ?2",
    );
    assert!(wide.iter().any(|s| s.ends_with("(org=?)")), "{wide:?}");
}
