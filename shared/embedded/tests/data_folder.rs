//! One process owns a data folder (issue 8: the database's lock is taken
//! once and held, so transactions take no file locks): a second opening of
//! the same database is refused, and the folder opens again once the first
//! owner is gone.

use outreach_embedded::Db;

#[test]
fn a_second_owner_of_a_data_folder_is_refused_until_the_first_is_gone() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("outreach.db");
    let first = Db::open(&path).expect("the first opening");
    first.set_meta("probe", "1").expect("the owner writes");
    let second = Db::open(&path);
    assert!(
        second.is_err(),
        "a second opening of the same database must be refused"
    );
    drop(first);
    let again = Db::open(&path).expect("the folder opens once its owner is gone");
    assert_eq!(again.get_meta("probe").expect("a read"), Some("1".into()));
}

/// Issue 20: `outreach-local` and `outreach-local token` started together on
/// a new folder each made a secret, and the one written last won: the token
/// was signed with a secret the server no longer had. Now the first secret
/// written is the folder's, whoever asks.
#[test]
fn two_first_uses_of_a_new_data_folder_agree_on_its_secret() {
    for _ in 0..50 {
        let dir = tempfile::tempdir().expect("a folder");
        let data = dir.path().join("data");
        let barrier = std::sync::Barrier::new(4);
        let secrets: Vec<Vec<u8>> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        outreach_embedded::local::token_secret(&data).expect("a secret")
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().expect("a racer"))
                .collect()
        });
        assert!(secrets[0].len() >= 32);
        assert!(
            secrets.iter().all(|s| s == &secrets[0]),
            "every first use gets the same secret"
        );
        let kept = outreach_embedded::local::token_secret(&data).expect("a secret");
        assert_eq!(kept, secrets[0], "and the folder keeps it");
        let leftovers = std::fs::read_dir(&data)
            .expect("the folder")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".new"))
            .count();
        assert_eq!(leftovers, 0, "no temporary file is left behind");
    }
}
