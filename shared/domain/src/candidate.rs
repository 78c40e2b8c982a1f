//! Candidates and their addresses.

use crate::email::EmailAddress;
use crate::ids::{CandidateId, OrgId, UserId};
use crate::zone::Zone;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailType {
    Personal,
    Work,
    Other,
}

/// One address of a candidate, in relevancy order within the candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateEmail {
    pub address: EmailAddress,
    #[serde(rename = "type")]
    pub kind: EmailType,
    /// Set for an address a user added by hand: visible to, and usable by, that
    /// user alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_by: Option<UserId>,
    /// Hard-bounced for the whole organization.
    #[serde(default)]
    pub bounced: bool,
}

impl CandidateEmail {
    pub fn is_manual(&self) -> bool {
        self.manual_by.is_some()
    }

    /// Whether `user` may see and use this address.
    pub fn visible_to(&self, user: &UserId) -> bool {
        self.manual_by.as_ref().is_none_or(|author| author == user)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: CandidateId,
    pub org_id: OrgId,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub timezone: Option<Zone>,
    pub emails: Vec<CandidateEmail>,
    /// The person said stop (complaint or unsubscribe, R-9.5): never mailed
    /// again by this organization, at any address.
    #[serde(default)]
    pub opted_out: bool,
    /// Erased: the record stays only as a tombstone.
    #[serde(default)]
    pub erased: bool,
}

impl Candidate {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.trim(), self.last_name.trim())
            .trim()
            .to_owned()
    }

    /// Whether a profile address (not a manual one) is left unbounced: the
    /// credit bought the profile addresses.
    pub fn has_unbounced_profile_address(&self) -> bool {
        self.emails.iter().any(|e| !e.is_manual() && !e.bounced)
    }

    /// Marks every copy of `address` bounced. Returns whether anything changed.
    /// Whether `user` sees `address` on the candidate: a profile
    /// entry or their own manual one. The same address may be held twice, as
    /// a colleague's manual entry and as one `user` sees (a manual address of
    /// their own, or one an update import added from their file): then it is
    /// theirs to see and use, and nothing tells them of the colleague's.
    pub fn shows(&self, address: &EmailAddress, user: &UserId) -> bool {
        self.emails
            .iter()
            .any(|e| &e.address == address && e.visible_to(user))
    }

    pub fn mark_bounced(&mut self, address: &EmailAddress) -> bool {
        let mut changed = false;
        for e in self.emails.iter_mut().filter(|e| &e.address == address) {
            changed |= !e.bounced;
            e.bounced = true;
        }
        changed
    }
}
