//! Every key shape of the one DynamoDB table, and the access patterns they serve.
//!
//! The table has a string partition key `PK` and sort key `SK`, and three
//! global secondary indexes with string keys of their own (`GSI1PK`/`GSI1SK`,
//! …). Indexes are sparse: an item carries an index's attributes only when the
//! pattern needs it. Dynamic parts are escaped (`%` → `%25`, `#` → `%23`) so an
//! opaque id containing `#` can never reach into another key's range.
//!
//! | record | PK | SK | index keys | access patterns |
//! |---|---|---|---|---|
//! | organization | `ORG#o` | `ORG` | | credit balance and ledger sequence (R-3.2) |
//! | ledger entry | `ORG#o` | `LEDGER#{seq:020}` | | ledger, oldest first, paginated |
//! | reveal marker | `ORG#o` | `REVEAL#c` | | is_revealed; reveal and refund-once conditions (R-3.2, R-9.3) |
//! | user profile | `ORG#o` | `USER#u` | | get_user |
//! | candidate | `ORG#o` | `CANDIDATE#c` | | get, list (paginated) |
//! | project / template | `ORG#o` | `PROJECT#p` / `TEMPLATE#t` | | get, list (paginated) |
//! | suppression | `ORG#o` | `SUPPRESSED#k` | | suppress once, is_suppressed (R-9.5) |
//! | notification | `ORG#o` | `NOTIFICATION#p#n` | | a project's notifications |
//! | candidate address | `ADDRESS#o#a` | `CANDIDATE#c` | | candidates_with_address (R-9.6) |
//! | account address | `ACCOUNTS#o#owner` | `ADDRESS#addr` | | one account per owner and address: created in the account's creating transaction; find_account, read consistently |
//! | sender account | `ACCOUNT#a` | `ACCOUNT` | GSI1 `ACCOUNTS#o#owner` / `ADDRESS#addr#a`; GSI2 `ACCOUNTS` / `ACCOUNT#a` | get by id across organizations; find_account, accounts_of; every account for the identity check (R-2.3) |
//! | campaign head | `CAMPAIGN#o#c` | `CAMPAIGN` | GSI1 `CAMPAIGNS#o#p` / `CAMPAIGN#c`; GSI2 `SENDER#a` / `CAMPAIGN#o#c` | get (with its steps and counters); list by project; campaigns_using an account. Settings only: no step bodies, no counter |
//! | campaign member | `CAMPAIGN#o#c` | `MEMBER#e` | | a campaign's enrollments read consistently (`list_enrollments_consistent`): the plans of start, resume and edit, completion; written in the enrollment's creating transaction, never changed |
//! | campaign steps | `CAMPAIGN#o#c` | `STEPS#{at:012}` | | the steps written at head version `at`; immutable, so a process caches them by (campaign, `at`) and a send reads only the small head |
//! | campaign counters | `TALLY#o#c#k` (k < [`TALLY_SHARDS`]) | `TALLY` | | active enrollments (`active`, with `changes` counting its moves) and the Outreach view's counts (`c:…`, R-11.1); an enrollment counts in shard `fnv(e) % 8`, moved with `ADD` in its write's transaction |
//! | statistics bucket | `STATS#o#k` (k: the enrollment's counter shard) | `{bucket}#c` | | a campaign's statistics of one quarter hour (`c:{step}:{metric}`, R-11.3), moved with `ADD` in the transaction of the enrollment or reply write that changed them; a report queries each shard `SK BETWEEN from AND to` (`stats.rs`) |
//! | enrollment | `ENROLLMENT#o#e` | `ENROLLMENT` | GSI1 `ENROLLMENTS#o#c` / `ENROLLMENT#e`; GSI2 `CANDIDATE#o#cand` / `CAMPAIGN#c#ENROLLMENT#e`; GSI3 `DUE#shard` / `{due_ms:015}#e#o` (only while due) | get (consistent, decides a send); list by campaign; by candidate in a campaign or an organization; due enrollments, earliest first (the sweeper) |
//! | campaign completion check | the counter shard's item above | | GSI3 `CHECK#shard` / `o#c#k` (only while a check is pending) | the campaigns an enrollment of which ended since the sweeper last looked (R-5.2, issue 19): set in the ending write's transaction, removed by the sweeper on a condition on the shard's `changes` |
//! | enrollment event | `ENROLLMENT#o#e` | `EVENT#{at_ms:015}#{unique}` | | an enrollment's events in order, apart from the enrollment so it stays small |
//! | token | `TOKEN#t` | `TOKEN` | | Reply-To and unsubscribe tokens (R-8.3, R-9.5, R-9.6) |
//! | message | `MESSAGE#id` | `MESSAGE` | GSI1 `TO#addr` / `{sent_ms:015}#{id}` (the mail service's id only) | find_message by SES id or Message-ID; messages_to an address, newest first (R-9.6, R-9.8) |
//! | seen marker | `SEEN#k` | `SEEN` | | first_time; expires through the `ttl` attribute; a `k` over 1,024 bytes is its SHA-256 (`~sha256~hex`) |
//! | keyed record | `RECORD#k` | `RECORD` | | small versioned aggregates (reputation windows, R-2.5); an Idempotency-Key's expires through the `ttl` attribute; a `k` over 1,024 bytes is its SHA-256 |
//! | counter | `COUNTER#k` | `COUNTER` | | atomic sequence numbers (reputation windows, R-2.5): one an account, 8 an organization (`reputation:org:o#n`) |
//! | reply | `REPLY#o#id` | `REPLY` | | a reply: get, create once, versioned update ([`super::replies`]) |
//! | reply list entry | `REPLIES#o#{scope}#{class}#{read}` | `{received_ms:015}#{id}` | | the replies inbox newest first, one partition per filter combination ([`super::replies`]) |
//! | day's count | `DAILY#a#day` | `DAILY` | | a sender account's messages of a day and each campaign's, one conditional `ADD` a slot; expires through `ttl` |
//!
//! GSI1 projects keys only: its lists read the records themselves by key
//! (`BatchGetItem`, consistently), so that a write that keeps an item's
//! GSI1 keys (every enrollment update, every campaign edit) writes nothing to
//! the index. GSI2 and GSI3 project only the `org` and `id` attributes
//! (lookups return ids, and the caller reads the record by key, consistently,
//! before deciding anything).
//! Index reads are eventually consistent; every base-table read is strongly
//! consistent.
//!
//! Small, rarely written records of an organization share its partition, so
//! their lists are consistent base-table queries. The records every send
//! touches (enrollments, campaigns, accounts, messages, tokens) have
//! partitions of their own, so sends spread over the table. The due index is
//! sharded over [`DUE_SHARDS`] (32) partitions so that the enrollment writes
//! of a busy hour do not all land on one index partition; the sweeper reads
//! each with `list_due_in` (a bounded pass, 8 partitions at a time), and
//! `list_due` merges them. An enrollment with nothing due has no GSI3
//! attributes at all (every enrollment write is a whole-item put): a claim
//! keeps the due instant it was claimed at (its lease is in the item), and
//! the write that ends an enrollment removes its entry; the campaign's
//! completion check is then a `CHECK#` entry of a counter shard, one for
//! every end of that shard's enrollments until the sweeper looks.
//! An organization's send count is 8 counters
//! (`COUNTER#reputation:org:o#0` … `#7`), one written a send, read together
//! on a bounce or complaint, so that one organization is not one item written
//! on every send.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";
/// The table's time-to-live attribute (epoch seconds).
pub const TTL: &str = "ttl";

/// Partitions of the due index (issue 19). Every change of an enrollment's
/// due time writes one of them (a delete and a put of the index entry), and
/// an index partition takes about 1,000 writes a second: 32 partitions carry
/// some 32,000 index writes a second, 8 times the 4 partitions' bound of
/// ~1,000 sends a second (a send moves its due time about twice: the claim's
/// lease, then the next step, each a delete and a put). 32 rather than 64:
/// the sweeper queries every partition each pass (8 at a time), so each one
/// more costs a query a minute for nothing while the service is idle.
pub const DUE_SHARDS: u32 = 32;

/// A key of the table or of an index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

/// `prefix` and one escaped dynamic part.
fn prefixed(prefix: &str, part: &str) -> String {
    format!("{prefix}{}", esc(part))
}

/// Escapes one dynamic part of a key.
pub fn esc(part: &str) -> Cow<'_, str> {
    if part.contains(['%', '#']) {
        Cow::Owned(part.replace('%', "%25").replace('#', "%23"))
    } else {
        Cow::Borrowed(part)
    }
}

/// Milliseconds since the epoch, zero-padded so that text order is time order.
pub fn time_part(t: DateTime<Utc>) -> String {
    format!("{:015}", t.timestamp_millis().max(0))
}

// The organization's partition.

pub fn org_pk(org: &str) -> String {
    prefixed("ORG#", org)
}

pub fn org(org: &str) -> Key {
    key(org_pk(org), "ORG")
}

pub const LEDGER_PREFIX: &str = "LEDGER#";

pub fn ledger(org: &str, seq: i64) -> Key {
    key(org_pk(org), format!("{LEDGER_PREFIX}{:020}", seq.max(0)))
}

pub fn reveal(org: &str, candidate: &str) -> Key {
    key(org_pk(org), prefixed("REVEAL#", candidate))
}

pub fn user(org: &str, user: &str) -> Key {
    key(org_pk(org), prefixed("USER#", user))
}

pub const CANDIDATE_PREFIX: &str = "CANDIDATE#";

pub fn candidate(org: &str, id: &str) -> Key {
    key(org_pk(org), prefixed(CANDIDATE_PREFIX, id))
}

pub const PROJECT_PREFIX: &str = "PROJECT#";

pub fn project(org: &str, id: &str) -> Key {
    key(org_pk(org), prefixed(PROJECT_PREFIX, id))
}

pub const TEMPLATE_PREFIX: &str = "TEMPLATE#";

pub fn template(org: &str, id: &str) -> Key {
    key(org_pk(org), prefixed(TEMPLATE_PREFIX, id))
}

pub fn suppression(org: &str, hashed_address: &str) -> Key {
    key(org_pk(org), prefixed("SUPPRESSED#", hashed_address))
}

pub fn notification_prefix(project: &str) -> String {
    format!("NOTIFICATION#{}#", esc(project))
}

pub fn notification(org: &str, project: &str, id: &str) -> Key {
    key(org_pk(org), prefixed(&notification_prefix(project), id))
}

// Candidate addresses, one item per (address, candidate).

pub fn address_pk(org: &str, address: &str) -> String {
    format!("ADDRESS#{}#{}", esc(org), esc(address))
}

pub fn candidate_address(org: &str, address: &str, candidate: &str) -> Key {
    key(
        address_pk(org, address),
        prefixed(CANDIDATE_PREFIX, candidate),
    )
}

// Sender accounts.

pub fn account(id: &str) -> Key {
    key(prefixed("ACCOUNT#", id), "ACCOUNT")
}

pub fn accounts_of_pk(org: &str, owner: &str) -> String {
    format!("ACCOUNTS#{}#{}", esc(org), esc(owner))
}

/// GSI1SK prefix of every account of an owner.
pub const ACCOUNT_ADDRESSES: &str = "ADDRESS#";

pub fn account_address_prefix(address: &str) -> String {
    format!("{ACCOUNT_ADDRESSES}{}#", esc(address))
}

/// The item that makes an owner's address one account's, in a
/// partition of the owner's own; it holds the account's id.
pub fn account_address(org: &str, owner: &str, address: &str) -> Key {
    key(
        accounts_of_pk(org, owner),
        prefixed(ACCOUNT_ADDRESSES, address),
    )
}

/// GSI1: an owner's accounts, by address.
pub fn account_by_owner(org: &str, owner: &str, address: &str, id: &str) -> Key {
    key(
        accounts_of_pk(org, owner),
        prefixed(&account_address_prefix(address), id),
    )
}

/// GSI2 partition of every account (few, rarely written).
pub const ALL_ACCOUNTS_PK: &str = "ACCOUNTS";

pub const ACCOUNT_PREFIX: &str = "ACCOUNT#";

/// GSI2: every account, by id.
pub fn account_in_all(id: &str) -> Key {
    key(ALL_ACCOUNTS_PK.to_owned(), prefixed(ACCOUNT_PREFIX, id))
}

// Campaigns.

pub fn campaign_pk(org: &str, id: &str) -> String {
    format!("CAMPAIGN#{}#{}", esc(org), esc(id))
}

pub fn campaign(org: &str, id: &str) -> Key {
    key(campaign_pk(org, id), "CAMPAIGN")
}

pub const MEMBER_PREFIX: &str = "MEMBER#";

/// A campaign's enrollment, in the campaign's partition: written in the
/// enrollment's creating transaction, so a consistent query of the partition
/// lists every enrollment (planning never reads an index, issue 19).
pub fn member(org: &str, campaign: &str, enrollment: &str) -> Key {
    key(
        campaign_pk(org, campaign),
        prefixed(MEMBER_PREFIX, enrollment),
    )
}

pub const CAMPAIGN_PREFIX: &str = "CAMPAIGN#";

/// A campaign's steps as written at head version `at` (immutable; the head's
/// `steps_v` names the one in force).
pub fn campaign_steps(org: &str, id: &str, at: u64) -> Key {
    key(campaign(org, id).pk, format!("STEPS#{at:012}"))
}

/// Partitions of a campaign's counters.
pub const TALLY_SHARDS: u32 = 8;

/// One partition of a campaign's counters (active enrollments and the
/// Outreach view's counts); an enrollment always counts in the same one.
pub fn tally_shard(org: &str, campaign: &str, shard: u32) -> Key {
    key(
        format!("TALLY#{}#{}#{shard}", esc(org), esc(campaign)),
        "TALLY",
    )
}

/// The partition of its campaign's counters an enrollment counts in (FNV-1a
/// of its id: the same in every process and release).
pub fn tally_shard_of(enrollment: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in enrollment.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % TALLY_SHARDS
}

pub fn campaigns_of_project_pk(org: &str, project: &str) -> String {
    format!("CAMPAIGNS#{}#{}", esc(org), esc(project))
}

/// GSI1: a project's campaigns.
pub fn campaign_in_project(org: &str, project: &str, id: &str) -> Key {
    key(
        campaigns_of_project_pk(org, project),
        prefixed(CAMPAIGN_PREFIX, id),
    )
}

pub fn campaigns_using_pk(account: &str) -> String {
    prefixed("SENDER#", account)
}

/// GSI2: campaigns sending from an account, in any organization.
pub fn campaign_by_sender(account: &str, org: &str, id: &str) -> Key {
    key(
        campaigns_using_pk(account),
        format!("{CAMPAIGN_PREFIX}{}#{}", esc(org), esc(id)),
    )
}

// Enrollments and their events.

pub fn enrollment_pk(org: &str, id: &str) -> String {
    format!("ENROLLMENT#{}#{}", esc(org), esc(id))
}

pub fn enrollment(org: &str, id: &str) -> Key {
    key(enrollment_pk(org, id), "ENROLLMENT")
}

pub const ENROLLMENT_PREFIX: &str = "ENROLLMENT#";

pub fn enrollments_of_campaign_pk(org: &str, campaign: &str) -> String {
    format!("ENROLLMENTS#{}#{}", esc(org), esc(campaign))
}

/// GSI1: a campaign's enrollments.
pub fn enrollment_in_campaign(org: &str, campaign: &str, id: &str) -> Key {
    key(
        enrollments_of_campaign_pk(org, campaign),
        prefixed(ENROLLMENT_PREFIX, id),
    )
}

pub fn enrollments_of_candidate_pk(org: &str, candidate: &str) -> String {
    format!("CANDIDATE#{}#{}", esc(org), esc(candidate))
}

pub fn candidate_campaign_prefix(campaign: &str) -> String {
    format!("{CAMPAIGN_PREFIX}{}#", esc(campaign))
}

/// GSI2: a candidate's enrollments in an organization, grouped by campaign.
pub fn enrollment_of_candidate(org: &str, candidate: &str, campaign: &str, id: &str) -> Key {
    key(
        enrollments_of_candidate_pk(org, candidate),
        format!(
            "{}{ENROLLMENT_PREFIX}{}",
            candidate_campaign_prefix(campaign),
            esc(id)
        ),
    )
}

pub fn due_pk(shard: u32) -> String {
    format!("DUE#{shard}")
}

/// The shard of an enrollment in the due index: a stable hash (FNV-1a) of its id.
pub fn due_shard(enrollment: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in enrollment.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % DUE_SHARDS
}

/// GSI3: due enrollments by time, then id (the embedded store's order).
pub fn due(org: &str, id: &str, due_at: DateTime<Utc>) -> Key {
    key(
        due_pk(due_shard(id)),
        format!("{}#{}#{}", time_part(due_at), esc(id), esc(org)),
    )
}

/// GSI3: a campaign's completion check (issue 19), on counter shard `part`:
/// set by every write that ends an enrollment counting in that shard, with
/// the same keys each time (so that only the first writes the index), and
/// removed by the sweeper once it checked the campaign. Its own partitions
/// (`CHECK#n`), apart from the due enrollments'.
pub fn completion_check(org: &str, campaign: &str, part: u32) -> Key {
    let id = format!("{}#{}#{part}", esc(org), esc(campaign));
    key(format!("CHECK#{}", due_shard(&id)), id)
}

pub fn check_pk(shard: u32) -> String {
    format!("CHECK#{shard}")
}

/// The exclusive upper bound of GSI3SK for "due at or before `before`".
pub fn due_upper_bound(before: DateTime<Utc>) -> String {
    format!("{:015}", before.timestamp_millis().max(-1) + 1)
}

pub const EVENT_PREFIX: &str = "EVENT#";

pub fn event(org: &str, enrollment: &str, at: DateTime<Utc>, unique: &str) -> Key {
    key(
        enrollment_pk(org, enrollment),
        format!("{EVENT_PREFIX}{}#{unique}", time_part(at)),
    )
}

// What comes back.

pub fn token(token: &str) -> Key {
    key(prefixed("TOKEN#", token), "TOKEN")
}

pub fn message(id: &str) -> Key {
    key(prefixed("MESSAGE#", id), "MESSAGE")
}

pub fn messages_to_pk(address: &str) -> String {
    prefixed("TO#", address)
}

/// GSI1: messages handed off to an address, by time.
pub fn message_to(address: &str, sent_at: DateTime<Utc>, id: &str) -> Key {
    key(
        messages_to_pk(address),
        format!("{}#{}", time_part(sent_at), esc(id)),
    )
}

pub fn seen(marker: &str) -> Key {
    key(format!("SEEN#{}", bounded(marker)), "SEEN")
}

pub fn record(name: &str) -> Key {
    key(format!("RECORD#{}", bounded(name)), "RECORD")
}

/// The longest escaped dynamic part kept as it is in a partition key
/// (DynamoDB refuses a partition key over 2,048 bytes).
pub const LONGEST_KEPT_PART: usize = 1_024;

/// One escaped dynamic part from outside (a marker or record name built from
/// an SNS message id, an SES `feedbackId`…), kept as it is up to
/// [`LONGEST_KEPT_PART`] bytes; a longer one is its SHA-256 instead, so its
/// key never exceeds DynamoDB's limit and the same part always has the same
/// key (a write that failed on every redelivery would lose the event).
/// `~` never starts an escaped part of that length that is not a hash: a
/// kept part is at most [`LONGEST_KEPT_PART`] bytes, the hash's form 72.
fn bounded(part: &str) -> Cow<'_, str> {
    use sha2::{Digest, Sha256};
    let escaped = esc(part);
    if escaped.len() <= LONGEST_KEPT_PART {
        return escaped;
    }
    let digest = Sha256::digest(part.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Cow::Owned(format!("~sha256~{hex}"))
}

/// An atomic counter (the reputation windows' sequence numbers, R-2.5).
pub fn counter(name: &str) -> Key {
    key(prefixed("COUNTER#", name), "COUNTER")
}

/// A sender account's count of one day under the daily limits.
pub fn daily(account: &str, day: chrono::NaiveDate) -> Key {
    key(format!("{}#{day}", prefixed("DAILY#", account)), "DAILY")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_marker_longer_than_a_partition_key_may_be_is_hashed_to_a_stable_key() {
        let long = format!("bounce:{}", "f".repeat(5_000));
        let other = format!("bounce:{}g", "f".repeat(4_999));
        let key = seen(&long);
        assert!(key.pk.len() <= 2_048, "{} bytes", key.pk.len());
        assert_eq!(key, seen(&long), "the same marker, the same key");
        assert_ne!(key, seen(&other));
        assert!(record(&long).pk.len() <= 2_048);
        let kept = "x".repeat(LONGEST_KEPT_PART);
        assert_eq!(
            seen(&kept).pk,
            format!("SEEN#{kept}"),
            "a short one is kept"
        );
        assert_eq!(seen("a#b").pk, "SEEN#a%23b");
    }

    #[test]
    fn a_hash_in_an_id_cannot_reach_another_key() {
        assert_eq!(candidate("o", "a#b").sk, "CANDIDATE#a%23b");
        assert_eq!(org_pk("x%23"), "ORG#x%2523");
        assert_ne!(
            notification("o", "p#x", "n").sk,
            notification("o", "p", "x#n").sk
        );
    }

    #[test]
    fn due_keys_sort_by_time_and_the_bound_is_inclusive() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let later = t + chrono::Duration::milliseconds(1);
        let a = due("o", "e", t);
        let b = due("o", "e", later);
        assert!(a.sk < b.sk);
        assert!(a.sk < due_upper_bound(t));
        assert!(b.sk > due_upper_bound(t));
        assert!(due_shard("enr_1") < DUE_SHARDS);
        assert_eq!(due_shard("enr_1"), due_shard("enr_1"));
    }

    /// Issue 19: 32 partitions (4 capped the service near 1,000 sends a
    /// second), and enrollments spread over every one of them.
    #[test]
    fn the_due_index_has_32_shards_all_used() {
        assert_eq!(DUE_SHARDS, 32);
        let mut counts = [0u32; DUE_SHARDS as usize];
        for i in 0..3_200 {
            counts[due_shard(&format!("enr_{i:x}_cand_{i}")) as usize] += 1;
        }
        let (min, max) = (counts.iter().min(), counts.iter().max());
        assert!(
            min.is_some_and(|m| *m >= 50) && max.is_some_and(|m| *m <= 150),
            "an even spread: {counts:?}"
        );
    }

    #[test]
    fn ledger_keys_sort_by_sequence() {
        assert!(ledger("o", 9).sk < ledger("o", 10).sk);
    }
}
