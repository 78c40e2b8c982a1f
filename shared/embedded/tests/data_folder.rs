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
