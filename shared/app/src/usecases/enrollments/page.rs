//! What a page of enrollments shows besides the enrollments:
//! each one's candidate and, while its next address is not fixed, the
//! address its next step would use. Read in two batched reads for the whole
//! page — the candidates, then the suppression list's entries for their
//! addresses (one `BatchGetItem` each in AWS) — rather than a read per
//! candidate and per address, which was most of a page's cost (issue 20).

use std::collections::{HashMap, HashSet};

use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CandidateId, OrgId};

use super::Enrollments;
use crate::error::Error;
use crate::ports::{Found, Lookup};

/// One enrollment's candidate (`None` when gone) and its next address.
pub struct PageItem {
    pub candidate: Option<Candidate>,
    pub preview: Option<EmailAddress>,
}

/// Whether the view shows where the next step would go: an enrollment
/// without a fixed address that has not ended.
fn shows_preview(e: &Enrollment) -> bool {
    e.address.is_none() && !e.is_ended()
}

/// The addresses whose suppression decides an enrollment's next address.
fn considered<'a>(c: &'a Candidate, e: &'a Enrollment) -> impl Iterator<Item = &'a EmailAddress> {
    c.emails
        .iter()
        .map(|m| &m.address)
        .chain(e.override_address.iter())
}

impl Enrollments<'_> {
    /// Each enrollment's [`PageItem`], in the order of `items` (all of `org`).
    pub async fn page_items(
        &self,
        org: &OrgId,
        campaign: &Campaign,
        items: &[Enrollment],
    ) -> Result<Vec<PageItem>, Error> {
        let mut seen = HashSet::new();
        let lookups: Vec<Lookup> = items
            .iter()
            .filter(|e| seen.insert(&e.candidate_id))
            .map(|e| Lookup::Candidate(org.clone(), e.candidate_id.clone()))
            .collect();
        let mut candidates: HashMap<CandidateId, Candidate> = HashMap::new();
        for found in self.store.get_batch(&lookups).await? {
            if let Some(Found::Candidate(c)) = found {
                candidates.insert(c.value.id.clone(), c.value);
            }
        }
        let mut addresses: Vec<&EmailAddress> = Vec::new();
        let mut listed = HashSet::new();
        for e in items.iter().filter(|e| shows_preview(e)) {
            if let Some(c) = candidates.get(&e.candidate_id) {
                addresses.extend(considered(c, e).filter(|a| listed.insert(*a)));
            }
        }
        let returns = self.returns();
        let lookups: Vec<Lookup> = addresses
            .iter()
            .map(|a| Lookup::Suppressed(org.clone(), returns.suppression_key(a)))
            .collect();
        let found = self.store.get_batch(&lookups).await?;
        let suppressed: HashSet<&EmailAddress> = addresses
            .iter()
            .zip(found)
            .filter(|(_, f)| matches!(f, Some(Found::Suppressed)))
            .map(|(a, _)| *a)
            .collect();
        let sending = self.sending();
        Ok(items
            .iter()
            .map(|e| {
                let candidate = candidates.get(&e.candidate_id);
                let preview = candidate.filter(|_| shows_preview(e)).and_then(|c| {
                    let out: Vec<EmailAddress> = considered(c, e)
                        .filter(|a| suppressed.contains(a))
                        .cloned()
                        .collect();
                    sending.address_for(campaign, c, e, &out)
                });
                PageItem {
                    candidate: candidate.cloned(),
                    preview,
                }
            })
            .collect())
    }
}
