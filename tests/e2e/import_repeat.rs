//! §13, R-3.7, issue 19 item 4 (outside review B5): an import whose first
//! request died mid-way (the server killed) is run again by a repeat with the
//! same `Idempotency-Key` once the key's lease is free. Rows without an
//! address were created twice (5,000 rows became 6,155 candidates). The
//! candidates an import with a key creates have ids derived from the key,
//! the request and the row, so the repeat finds what the first run created.
//!
//! The crash is the use case run twice with the same key (what the repeat
//! does once the key's stored lease has expired), on local mode's service.

use outreach_app::auth::Identity;
use outreach_app::ports::PageRequest;
use outreach_app::usecases::catalog::import::ImportInput;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::local::{LocalApp, LocalOptions};

const START: &str = "2026-12-01T14:00:00Z";

fn input(file: &str, key: Option<&str>) -> ImportInput {
    ImportInput {
        file: file.as_bytes().to_vec(),
        idempotency_key: key.map(str::to_owned),
        ..ImportInput::default()
    }
}

async fn candidates(service: &outreach_app::service::Service, who: &Identity) -> usize {
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = service
            .catalog()
            .list_candidates(
                who,
                &PageRequest {
                    limit: 100,
                    after: cursor.clone(),
                },
            )
            .await
            .expect("listed");
        count += page.items.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => return count,
        }
    }
}

#[tokio::test]
async fn an_import_run_again_under_its_key_creates_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let app = LocalApp::open(&LocalOptions {
        data: dir.path().to_path_buf(),
        port: 0,
        manual_clock: Some(START.parse().unwrap()),
        initial_credits: 100,
    })
    .expect("local mode opens");
    let service = app.runtime.service();
    let who = Identity {
        org_id: OrgId::new("acme"),
        user_id: UserId::new("alice"),
        email: None,
        admin: false,
    };
    let mut file = String::from("First Name,Last Name,Email\n");
    for i in 0..30 {
        file.push_str(&format!("N{i},NoMail,\n"));
    }
    for i in 0..20 {
        file.push_str(&format!("M{i},Mail,m{i}@cand.example\n"));
    }
    let first = service
        .catalog()
        .import_candidates(&who, input(&file, Some("imp-1")))
        .await
        .expect("imported")
        .done()
        .expect("local mode answers when done");
    assert_eq!((first.created, first.skipped), (50, 0));
    assert_eq!(candidates(&service, &who).await, 50);
    // The repeat: the same key and request, its stored answer gone.
    let again = service
        .catalog()
        .import_candidates(&who, input(&file, Some("imp-1")))
        .await
        .expect("imported again")
        .done()
        .expect("local mode answers when done");
    assert_eq!(
        candidates(&service, &who).await,
        50,
        "no row is imported twice"
    );
    assert_eq!(
        (again.created, again.updated, again.skipped),
        (50, 0, 0),
        "the repeat counts what the first run created"
    );
    assert_eq!(again.candidate_ids, first.candidate_ids);
    // Another key (or none) is another import: rows without an address are
    // new candidates, rows with one match the existing candidates.
    let other = service
        .catalog()
        .import_candidates(&who, input(&file, Some("imp-2")))
        .await
        .expect("imported")
        .done()
        .expect("local mode answers when done");
    assert_eq!((other.created, other.skipped), (30, 20));
    let none = service
        .catalog()
        .import_candidates(&who, input(&file, None))
        .await
        .expect("imported")
        .done()
        .expect("local mode answers when done");
    assert_eq!((none.created, none.skipped), (30, 20));
    assert_eq!(candidates(&service, &who).await, 110);
}

/// POST /v1/candidates/import of `csv` with an `Idempotency-Key`; returns
/// the status and whether the answer is a replay.
async fn import_over_http(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    csv: &str,
) -> (u16, bool) {
    let boundary = format!("b{}", csv.len());
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(csv.as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = http
        .post(format!("{base}/v1/candidates/import"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("idempotency-key", "lk")
        .body(body)
        .send()
        .await
        .expect("request reaches outreach-local");
    let replayed = r.headers().contains_key("idempotent-replayed");
    (r.status().as_u16(), replayed)
}

#[tokio::test]
async fn moving_the_manual_clock_does_not_free_the_key_of_a_running_request() {
    // §13, §14, outside review B6: the key's 60-second lease is measured on
    // the service's clock; moving local mode's manual clock by two minutes
    // while the first request ran made the lease look expired, and a repeat
    // ran concurrently. A key whose request runs in this process stays taken.
    let local = outreach_tests::Local::spawn(START).await;
    let token = local.token("acme", "alice");
    let mut csv = String::from("First Name,Last Name,Email\r\n");
    for i in 0..10_000 {
        csv.push_str(&format!("N{i},NoMail,\r\n"));
    }
    let first = {
        let (http, base, token, csv) = (
            local.http.clone(),
            local.base.clone(),
            token.clone(),
            csv.clone(),
        );
        tokio::spawn(async move { import_over_http(&http, &base, &token, &csv).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    local.advance("PT2M").await;
    let (status, replayed) = import_over_http(&local.http, &local.base, &token, &csv).await;
    assert!(
        status == 409 || replayed,
        "a repeat while the first request runs is 409 (or, once it is done, its replay): {status}"
    );
    assert_eq!(first.await.unwrap(), (200, false));
}
