//! The reputation guard and the identity check.
//!
//! The SES account is shared by every organization, so a sender account whose
//! hard-bounce rate over its last 200 sends (at least 50) exceeds 4 %, or whose
//! complaints exceed 0.1 %, pauses its campaigns; the same thresholds over an
//! organization's last 1,000 sends pause all of the organization's campaigns.
//! The guard never resumes by itself: a user resumes after the notification.

use std::collections::BTreeMap;

use outreach_domain::campaign::{CampaignStatus, PauseReason};

use outreach_domain::ids::{AccountId, CampaignId, EnrollmentId, OrgId, ProjectId};
use serde::{Deserialize, Serialize};

use super::Returns;
use crate::error::Error;
use crate::model::{AccountStatus, Notification};
use crate::ports::{Found, Lookup, PageRequest};

pub const ACCOUNT_WINDOW: usize = 200;
pub const ORG_WINDOW: usize = 1000;
pub const MIN_SENDS: usize = 50;
/// Hard bounces above 4 % of the window pause (AWS reviews at 5 %).
pub const MAX_BOUNCE_RATE: f64 = 0.04;
/// Complaints above 0.1 % of the window pause.
pub const MAX_COMPLAINT_RATE: f64 = 0.001;
/// Sub-counters of an organization's sends (issue 19): a send counts in one
/// of them (chosen by its message id), so that an organization is not one
/// item written on every send (about 1,000 writes a second, the limit of one
/// DynamoDB partition). Each keeps its own window of the last
/// [`ORG_SHARD_WINDOW`] sends; the organization's window is their union,
/// read on a bad outcome: the last ~[`ORG_WINDOW`] sends.
pub const ORG_SHARDS: u64 = 8;
/// The window of one sub-counter.
pub const ORG_SHARD_WINDOW: usize = ORG_WINDOW / ORG_SHARDS as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendOutcome {
    Sent,
    Bounced,
    Complained,
}

/// The sends of an account or organization, numbered, with the bad outcomes
/// among the latest ones: a small record whatever the window size.
///
/// The count of sends is an atomic counter of the store (one write a send,
/// no read, issue 8); the record holds only the hits, and changes only when
/// something bounces or is complained about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Sends so far; the n-th send has sequence number n (the counter's value
    /// when the window was read).
    #[serde(default)]
    pub sent: u64,
    /// Bounced or complained-about sends still inside the largest window.
    pub hits: Vec<(u64, SendOutcome)>,
    /// The message each hit is about, by the hit's number (issue 20): two
    /// sends in flight at once may have been given the same number, and a
    /// hit of one is then never taken for a repeat of the other's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<u64, String>,
}

impl Window {
    /// Counts one send and returns its sequence number (the store's counter
    /// does this for the service).
    #[cfg(test)]
    fn record_send(&mut self) -> u64 {
        self.sent += 1;
        self.sent
    }

    #[cfg(test)]
    fn mark(&mut self, seq: u64, outcome: SendOutcome, cap: usize) -> bool {
        self.mark_message(seq, outcome, cap, None)
    }

    /// Marks the hit of `message` (when known) on send `seq`. A hit already
    /// there is this message's (a repeat: a complaint outranks a bounce,
    /// nothing else changes) unless it names another message: two sends in
    /// flight at once may share a number (R-2.5 lets the windows be that
    /// approximate), and the second hit then takes the nearest number
    /// without one, so that no bad outcome is lost.
    fn mark_message(
        &mut self,
        seq: u64,
        outcome: SendOutcome,
        cap: usize,
        message: Option<&str>,
    ) -> bool {
        if seq == 0 || seq > self.sent || seq <= self.sent.saturating_sub(cap as u64) {
            return false;
        }
        // Hits that fell out of the window leave the record.
        let oldest = self.sent.saturating_sub(cap as u64);
        self.hits.retain(|(s, _)| *s > oldest);
        self.messages.retain(|s, _| *s > oldest);
        let seen = message.and_then(|m| self.messages.iter().find(|(_, id)| *id == m));
        let seq = match seen {
            Some((s, _)) => *s,
            None => seq,
        };
        let other = |w: &Window, s: u64| match (message, w.messages.get(&s)) {
            (Some(m), Some(id)) => id != m,
            _ => false,
        };
        let seq = if other(self, seq) {
            match self.free_seq_near(seq, cap) {
                Some(free) => free,
                None => return false,
            }
        } else {
            seq
        };
        match self.hits.iter_mut().find(|(s, _)| *s == seq) {
            // A complaint outranks a bounce; nothing goes back to `sent`.
            Some((_, o)) if *o == SendOutcome::Bounced && outcome == SendOutcome::Complained => {
                *o = outcome;
                true
            }
            Some(_) => false,
            None => {
                self.hits.push((seq, outcome));
                if let Some(m) = message {
                    self.messages.insert(seq, m.to_owned());
                }
                true
            }
        }
    }

    /// The send nearest to `seq` (earlier first) in the last `cap` that has no hit.
    fn free_seq_near(&self, seq: u64, cap: usize) -> Option<u64> {
        let oldest = self.sent.saturating_sub(cap as u64);
        let free = |s: &u64| !self.hits.iter().any(|(h, _)| h == s);
        (oldest + 1..seq)
            .rev()
            .find(free)
            .or_else(|| (seq + 1..=self.sent).find(free))
    }

    /// Marks a bad outcome whose send's number is not known (its message was
    /// never indexed: the hand-off's record was lost, R-8.1) on the latest
    /// send that has none yet. lets a window be approximate by the sends
    /// in flight, never lose a bad outcome.
    #[cfg(test)]
    fn mark_unnumbered(&mut self, outcome: SendOutcome, cap: usize) -> bool {
        self.mark_unnumbered_message(outcome, cap, None)
    }

    /// [`Window::mark_unnumbered`] of `message`'s hit: a repeat of a hit
    /// marked already finds it.
    fn mark_unnumbered_message(
        &mut self,
        outcome: SendOutcome,
        cap: usize,
        message: Option<&str>,
    ) -> bool {
        if let Some((seq, _)) = message.and_then(|m| self.messages.iter().find(|(_, id)| *id == m))
        {
            return self.mark_message(*seq, outcome, cap, message);
        }
        let oldest = self.sent.saturating_sub(cap as u64);
        let free = (oldest + 1..=self.sent)
            .rev()
            .find(|seq| !self.hits.iter().any(|(s, _)| s == seq));
        free.is_some_and(|seq| self.mark_message(seq, outcome, cap, message))
    }

    /// Whether the last `cap` sends are over a threshold of, and why.
    pub fn breach(&self, cap: usize) -> Option<String> {
        breach_of(std::slice::from_ref(self), cap)
    }

    /// The sends in the last `cap`, and the bounced and complained-about among them.
    fn tally(&self, cap: usize) -> (usize, usize, usize) {
        let n = self.sent.min(cap as u64) as usize;
        let oldest = self.sent - n as u64;
        let live = || self.hits.iter().filter(move |(seq, _)| *seq > oldest);
        let bounced = live().filter(|(_, o)| *o == SendOutcome::Bounced).count();
        let complained = live()
            .filter(|(_, o)| *o == SendOutcome::Complained)
            .count();
        (n, bounced, complained)
    }
}

/// Whether the last `cap` sends of each window, together, are over a
/// threshold of, and why (an organization's sub-counters, [`ORG_SHARDS`]).
pub fn breach_of(windows: &[Window], cap: usize) -> Option<String> {
    let (mut n, mut bounced, mut complained) = (0, 0, 0);
    for w in windows {
        let (wn, wb, wc) = w.tally(cap);
        n += wn;
        bounced += wb;
        complained += wc;
    }
    if n < MIN_SENDS {
        return None;
    }
    let bounce_rate = bounced as f64 / n as f64;
    let complaint_rate = complained as f64 / n as f64;
    if bounce_rate > MAX_BOUNCE_RATE {
        return Some(format!(
            "{bounced} hard bounces in the last {n} sends ({:.1} %, above 4 %)",
            bounce_rate * 100.0
        ));
    }
    if complaint_rate > MAX_COMPLAINT_RATE {
        return Some(format!(
            "{complained} complaints in the last {n} sends ({:.2} %, above 0.1 %)",
            complaint_rate * 100.0
        ));
    }
    None
}

fn account_key(account: &AccountId) -> String {
    format!("reputation:account:{account}")
}

/// The organization's sub-counter `shard` (below [`ORG_SHARDS`]).
fn org_key(org: &OrgId, shard: u64) -> String {
    format!("reputation:org:{org}#{shard}")
}

/// The sub-counter a hit of a message that was never indexed goes to.
fn org_shard_of_message(message_id: &str) -> u64 {
    outreach_domain::jitter::stable_hash(message_id, 0, "org-reputation") % ORG_SHARDS
}

/// The reputation windows a hand-off counts in: its sender
/// account's, and the organization's sub-counter of its enrollment (known
/// before the send, so that the counters are read with everything else the
/// send reads, and moved in its record's write; issue 20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendWindows {
    account: String,
    org: String,
    shard: u64,
}

impl SendWindows {
    pub(crate) fn of(org: &OrgId, account: &AccountId, enrollment: &EnrollmentId) -> SendWindows {
        let shard = outreach_domain::jitter::stable_hash(enrollment.as_str(), 0, "org-reputation")
            % ORG_SHARDS;
        SendWindows {
            account: account_key(account),
            org: org_key(org, shard),
            shard,
        }
    }

    /// The counters to read (with the send's other reads), in this order.
    pub(crate) fn lookups(&self) -> [Lookup; 2] {
        [
            Lookup::Counter(self.account.clone()),
            Lookup::Counter(self.org.clone()),
        ]
    }

    /// The counters a hand-off adds one to, in its record's write.
    pub(crate) fn keys(&self) -> Vec<String> {
        vec![self.account.clone(), self.org.clone()]
    }

    /// The sequence numbers of the next send in the account's and the
    /// organization's windows, from the answers to [`SendWindows::lookups`]:
    /// the counts as read, plus one. Sends in flight at the same moment may
    /// share one (R-2.5: the windows are approximate by those sends);
    /// [`Window`] keeps their hits apart.
    pub(crate) fn seqs(&self, read: &[Option<Found>]) -> (u64, u64) {
        let count = |i: usize| match read.get(i) {
            Some(Some(Found::Counter(n))) => *n,
            _ => 0,
        };
        (count(0) + 1, org_seq(self.shard, count(1) + 1))
    }
}

/// An organization's sequence number of a send: its number in its
/// sub-counter and the sub-counter, in one (`seq * ORG_SHARDS + shard`).
pub fn org_seq(shard: u64, shard_seq: u64) -> u64 {
    shard_seq * ORG_SHARDS + shard
}

/// The sub-counter and the number in it of an organization's sequence number.
pub fn org_shard_seq(seq: u64) -> (u64, u64) {
    (seq % ORG_SHARDS, seq / ORG_SHARDS)
}

impl Returns<'_> {
    /// Changes one window's hits with a version check; returns the window
    /// after the change and what the change answered.
    async fn change_window<R: Default + Copy>(
        &self,
        key: &str,
        change: impl Fn(&mut Window) -> (bool, R),
    ) -> Result<(Window, R), Error> {
        let answer = std::sync::Mutex::new(R::default());
        // Read after the hit's own send was counted, so the window includes it.
        let sent = self.store.read_counter(key).await?;
        // The hits live under a name of their own: records of windows kept
        // before the counters (with their own numbering) are left aside.
        let window = self
            .update_record(&format!("{key}:hits"), |w: &mut Window| {
                w.sent = sent;
                let (changed, r) = change(w);
                *answer.lock().unwrap_or_else(|p| p.into_inner()) = r;
                Ok(changed)
            })
            .await?;
        let r = *answer.lock().unwrap_or_else(|p| p.into_inner());
        Ok((window, r))
    }

    /// One window as it is: its counter and its hits.
    async fn read_window(&self, key: &str) -> Result<Window, Error> {
        let sent = self.store.read_counter(key).await?;
        let mut window: Window = self.read_record(&format!("{key}:hits")).await?;
        window.sent = sent;
        Ok(window)
    }

    /// Marks a hand-off bounced or complained about and applies the guard.
    pub(crate) async fn reputation_hit(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        message_id: &str,
        outcome: SendOutcome,
    ) -> Result<(), Error> {
        let Some(c) = self.campaigns().campaign_by_id(org, campaign).await? else {
            return Ok(());
        };
        // A message whose record was lost has no index and no numbers: its
        // bad outcome still counts, on the latest unmarked send.
        let (account_seq, org_seq) = match self.store.find_message(message_id).await? {
            Some(m) => (m.account_seq, m.org_seq),
            None => (None, None),
        };
        let mark = |seq: Option<u64>, cap: usize| {
            move |w: &mut Window| match seq {
                Some(seq) => (w.mark_message(seq, outcome, cap, Some(message_id)), ()),
                None => (
                    w.mark_unnumbered_message(outcome, cap, Some(message_id)),
                    (),
                ),
            }
        };
        let (account, _) = self
            .change_window(
                &account_key(&c.sender_account_id),
                mark(account_seq, ACCOUNT_WINDOW),
            )
            .await?;
        if let Some(why) = account.breach(ACCOUNT_WINDOW) {
            let campaigns = self.store.campaigns_using(&c.sender_account_id).await?;
            self.reputation_pause(campaigns, Some(&c.sender_account_id), &why)
                .await?;
        }
        // The hit goes to its send's sub-counter; the guard reads them all.
        let (shard, shard_seq) = match org_seq.map(org_shard_seq) {
            Some((shard, seq)) => (shard, Some(seq)),
            None => (org_shard_of_message(message_id), None),
        };
        let (marked, _) = self
            .change_window(&org_key(org, shard), mark(shard_seq, ORG_SHARD_WINDOW))
            .await?;
        let mut windows = Vec::with_capacity(ORG_SHARDS as usize);
        for other in 0..ORG_SHARDS {
            windows.push(match other == shard {
                true => marked.clone(),
                false => self.read_window(&org_key(org, other)).await?,
            });
        }
        if let Some(why) = breach_of(&windows, ORG_SHARD_WINDOW) {
            let campaigns = self.org_campaigns(org).await?;
            self.reputation_pause(campaigns, None, &format!("the organization had {why}"))
                .await?;
        }
        Ok(())
    }

    async fn org_campaigns(&self, org: &OrgId) -> Result<Vec<(OrgId, CampaignId)>, Error> {
        let mut campaigns = Vec::new();
        let mut page = PageRequest {
            limit: 100,
            after: None,
        };
        loop {
            let projects = self.store.list_projects(org, &page).await?;
            for p in &projects.items {
                let mut cpage = PageRequest {
                    limit: 100,
                    after: None,
                };
                loop {
                    let batch = self.store.list_campaigns(org, &p.id, &cpage).await?;
                    campaigns.extend(batch.items.iter().map(|c| (org.clone(), c.id.clone())));
                    match batch.next {
                        Some(n) => cpage.after = Some(n),
                        None => break,
                    }
                }
            }
            match projects.next {
                Some(n) => page.after = Some(n),
                None => return Ok(campaigns),
            }
        }
    }

    /// a breach acts on every campaign it concerns, whatever its state
    /// ([`pause_for_reputation`](outreach_domain::campaign::Campaign::pause_for_reputation)), and always leaves a notification
    /// on each project of a campaign it concerns, final ones included (a
    /// completed campaign's bounces still breach): one per project and scope
    /// (the account, or the organization), rewritten while it stays open.
    async fn reputation_pause(
        &self,
        campaigns: Vec<(OrgId, CampaignId)>,
        account: Option<&AccountId>,
        why: &str,
    ) -> Result<(), Error> {
        // (org, project) → the campaigns the guard holds paused there.
        let mut by_project: BTreeMap<(OrgId, ProjectId), Vec<(CampaignId, String)>> =
            BTreeMap::new();
        let mut newly_paused = false;
        for (org, id) in &campaigns {
            let Some((c, changed)) = self
                .update_campaign(org, id, |c| Ok(c.pause_for_reputation()))
                .await?
            else {
                continue;
            };
            // A final campaign is not held, but its project still gets the
            // notification: the breach happened (bounces arrive after the
            // last step of a completed campaign went out).
            let paused = by_project
                .entry((org.clone(), c.project_id.clone()))
                .or_default();
            if c.status == CampaignStatus::Paused
                && c.pause_reason == Some(PauseReason::SenderReputation)
            {
                paused.push((c.id, c.name));
            }
            if changed {
                newly_paused = true;
            }
        }
        for ((org, project), paused) in by_project {
            let id = format!(
                "ntf_reputation_{}_{project}",
                account.map_or("org", |a| a.as_str())
            );
            let open = self
                .store
                .list_notifications(&org, project.as_str())
                .await?
                .into_iter()
                .any(|n| n.id == id && n.resolved_at.is_none());
            if open && !newly_paused {
                continue;
            }
            tracing::error!(alarm = "sender_reputation", %org, %why, "reputation guard paused campaigns (R-2.5)");
            // Issue 19 item 4: at most 20 campaigns named, so it always fits.
            let what = if paused.is_empty() {
                "No campaign of this project was running".to_owned()
            } else {
                format!("Paused: {}", super::notice::named_campaigns(&paused))
            };
            let n = Notification {
                id,
                org_id: org,
                project_id: project.to_string(),
                kind: "sender_reputation".into(),
                message: format!(
                    "Sending is on hold to protect it for everyone: {why}. {what}. Check the addresses, then resume the campaigns yourself; re-linking the account does not resume them."
                ),
                account_id: account.cloned(),
                campaign_ids: super::notice::kept_ids(paused),
                created_at: self.now(),
                resolved_at: None,
            };
            self.store.put_notification(&n).await?;
        }
        Ok(())
    }

    /// SES raises no event when an identity stops being verified, so
    /// every connected account is checked (at least hourly); a lost
    /// verification is handled like a sending error. Returns the accounts failed.
    pub async fn check_identities(&self) -> Result<usize, Error> {
        let mut failed = 0;
        let mut page = PageRequest {
            limit: 100,
            after: None,
        };
        loop {
            let batch = self.store.list_all_accounts(&page).await?;
            for a in batch
                .items
                .iter()
                .filter(|a| a.status == AccountStatus::Connected)
            {
                match self.identities.sendable(&a.address).await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.sender_account_failed(
                            &a.id,
                            "its identity is no longer verified for sending",
                        )
                        .await?;
                        failed += 1;
                    }
                    Err(e) => {
                        tracing::warn!(account = %a.id, error = %e, "identity check failed; will try again")
                    }
                }
            }
            match batch.next {
                Some(n) => page.after = Some(n),
                None => return Ok(failed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(sent: usize, bounced: usize, complained: usize) -> Window {
        let mut w = Window::default();
        for _ in 0..sent + bounced + complained {
            w.record_send();
        }
        for seq in 1..=bounced as u64 {
            w.mark(seq, SendOutcome::Bounced, ACCOUNT_WINDOW);
        }
        for seq in bounced as u64 + 1..=(bounced + complained) as u64 {
            w.mark(seq, SendOutcome::Complained, ACCOUNT_WINDOW);
        }
        w
    }

    /// Issue 19: an organization's sends count in [`ORG_SHARDS`] sub-counters
    /// (no one item written on every send); R-2.5's thresholds hold over the
    /// union of their windows, the last 1,000 sends.
    #[test]
    fn an_organization_counts_in_sub_counters_read_together() {
        for (shard, seq) in [(0, 1), (7, 1), (3, 125), (5, 1_000_000)] {
            assert_eq!(org_shard_seq(org_seq(shard, seq)), (shard, seq));
        }
        let mut used = [0u32; ORG_SHARDS as usize];
        for i in 0..800 {
            used[org_shard_of_message(&format!("0100019a-{i:08x}-ses")) as usize] += 1;
        }
        assert!(
            used.iter().all(|n| *n >= 50),
            "every sub-counter used: {used:?}"
        );
        // 8 windows of 125 sends (and older ones), `bounced` hard bounces in all.
        let org = |bounced: usize| -> Vec<Window> {
            (0..ORG_SHARDS as usize)
                .map(|shard| {
                    let mut w = Window::default();
                    for _ in 0..300 {
                        w.record_send();
                    }
                    // An old bounce, out of every window.
                    w.mark(300 - 130, SendOutcome::Bounced, usize::MAX);
                    let here = bounced / 8 + usize::from(shard < bounced % 8);
                    for k in 0..here as u64 {
                        assert!(w.mark(300 - k, SendOutcome::Bounced, ORG_SHARD_WINDOW));
                    }
                    w
                })
                .collect()
        };
        assert_eq!(
            breach_of(&org(40), ORG_SHARD_WINDOW),
            None,
            "40 in 1,000 is 4 %, not above"
        );
        let why = breach_of(&org(41), ORG_SHARD_WINDOW).expect("a breach");
        assert!(
            why.contains("41 hard bounces in the last 1000 sends"),
            "{why}"
        );
        // Few sends: the minimum sample is the organization's, not a shard's.
        let mut few = vec![Window::default(); ORG_SHARDS as usize];
        for w in few.iter_mut().take(7) {
            for _ in 0..7 {
                w.record_send();
            }
            w.mark(1, SendOutcome::Bounced, ORG_SHARD_WINDOW);
        }
        assert_eq!(breach_of(&few, ORG_SHARD_WINDOW), None, "49 sends");
        for _ in 0..1 {
            few[7].record_send();
        }
        assert!(breach_of(&few, ORG_SHARD_WINDOW).is_some(), "7 in 50");
    }

    #[test]
    fn thresholds_and_minimum_sample_of_r_2_5() {
        assert_eq!(
            window(40, 9, 0).breach(ACCOUNT_WINDOW),
            None,
            "fewer than 50 sends"
        );
        assert_eq!(
            window(192, 8, 0).breach(ACCOUNT_WINDOW),
            None,
            "exactly 4 % is not above 4 %"
        );
        assert!(
            window(191, 9, 0)
                .breach(ACCOUNT_WINDOW)
                .unwrap()
                .contains("hard bounces")
        );
        assert!(
            window(199, 0, 1)
                .breach(ACCOUNT_WINDOW)
                .unwrap()
                .contains("complaints"),
            "one complaint in 200 is 0.5 %"
        );
    }

    #[test]
    fn the_window_keeps_the_last_sends_and_counts_each_once() {
        let mut w = Window::default();
        for _ in 0..250 {
            w.record_send();
        }
        assert!(
            !w.mark(10, SendOutcome::Bounced, ACCOUNT_WINDOW),
            "fell out of the window"
        );
        assert!(w.mark(100, SendOutcome::Bounced, ACCOUNT_WINDOW));
        assert!(
            !w.mark(100, SendOutcome::Bounced, ACCOUNT_WINDOW),
            "a duplicate changes nothing"
        );
        assert!(
            w.mark(100, SendOutcome::Complained, ACCOUNT_WINDOW),
            "a complaint outranks a bounce"
        );
        for _ in 0..200 {
            w.record_send();
        }
        assert_eq!(w.breach(ACCOUNT_WINDOW), None);
        assert!(w.mark(400, SendOutcome::Bounced, ACCOUNT_WINDOW));
        assert_eq!(
            w.hits,
            vec![(400, SendOutcome::Bounced)],
            "old hits leave the record with the next change"
        );
    }

    #[test]
    fn a_bad_outcome_without_its_send_number_still_counts_once() {
        // a bounce whose send was never indexed lands on the latest
        // send without a hit, never on one already counted.
        let mut w = Window::default();
        for _ in 0..60 {
            w.record_send();
        }
        assert!(w.mark(60, SendOutcome::Bounced, ACCOUNT_WINDOW));
        assert!(w.mark_unnumbered(SendOutcome::Bounced, ACCOUNT_WINDOW));
        assert!(w.mark_unnumbered(SendOutcome::Bounced, ACCOUNT_WINDOW));
        let mut seqs: Vec<u64> = w.hits.iter().map(|(s, _)| *s).collect();
        seqs.sort();
        assert_eq!(seqs, vec![58, 59, 60]);
        let mut empty = Window::default();
        assert!(
            !empty.mark_unnumbered(SendOutcome::Bounced, ACCOUNT_WINDOW),
            "no send to hang it on"
        );
    }

    #[test]
    fn two_sends_numbered_alike_keep_their_hits_apart() {
        // Issue 20, R-2.5: sends in flight at once may share a number; a bad
        // outcome of each counts, a repeat of either does not.
        let mut w = Window::default();
        for _ in 0..60 {
            w.record_send();
        }
        let cap = ACCOUNT_WINDOW;
        assert!(w.mark_message(60, SendOutcome::Bounced, cap, Some("m-a")));
        assert!(w.mark_message(60, SendOutcome::Bounced, cap, Some("m-b")));
        assert!(!w.mark_message(60, SendOutcome::Bounced, cap, Some("m-b")));
        assert!(!w.mark_message(60, SendOutcome::Bounced, cap, Some("m-a")));
        assert!(
            w.mark_message(60, SendOutcome::Complained, cap, Some("m-b")),
            "a complaint outranks its own message's bounce where it landed"
        );
        let mut seqs: Vec<u64> = w.hits.iter().map(|(s, _)| *s).collect();
        seqs.sort();
        assert_eq!(seqs, vec![59, 60]);
        assert!(w.hits.contains(&(59, SendOutcome::Complained)));
        assert!(
            !w.mark_unnumbered_message(SendOutcome::Bounced, cap, Some("m-a")),
            "a repeat without its number finds its hit"
        );
        assert_eq!(w.hits.len(), 2);
    }
}
