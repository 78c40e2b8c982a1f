//! Candidates and contact credits.

use outreach_domain::candidate::{Candidate, CandidateEmail, EmailType};
use outreach_domain::ids::CandidateId;
use outreach_domain::{EmailAddress, Zone};

use super::Catalog;
use crate::auth::Identity;
use crate::error::{Error, FieldError};
use crate::model::LedgerEntry;
use crate::ports::{Page, PageRequest, RevealOutcome};

/// A new candidate, as the HTTP body or a test gives it.
#[derive(Debug)]
pub struct NewCandidate {
    pub first_name: String,
    pub last_name: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<String>,
    pub emails: Vec<NewEmail>,
}

#[derive(Debug)]
pub struct NewEmail {
    pub address: String,
    pub kind: EmailType,
}

const MAX_TEXT: usize = 200;
/// at most this many addresses on a candidate as one user sees it:
/// its profile addresses and that user's own manual ones, on every
/// route that adds one (create, a manual address, an import's update).
pub(crate) const MAX_EMAILS: usize = 20;
/// At most this many addresses on one candidate record, every user's manual
/// ones included: DynamoDB writes a candidate and an entry per address in
/// one transaction of at most 100 items.
pub(crate) const MAX_STORED_EMAILS: usize = 2 * MAX_EMAILS;

/// Whether `adding` more addresses fit on `c` for `user`:
/// counted over what `user` sees, so a refusal never reveals a colleague's
/// manual address — unless the record itself is full, which only
/// colleagues' many manual addresses can make it.
pub(crate) fn room_for(
    c: &Candidate,
    user: &outreach_domain::ids::UserId,
    adding: usize,
) -> Result<(), String> {
    let seen = c.emails.iter().filter(|e| e.visible_to(user)).count() + adding;
    if seen > MAX_EMAILS {
        return Err(format!(
            "the candidate would have {seen} addresses; a candidate has at most {MAX_EMAILS} \
             (its addresses and your manual ones)"
        ));
    }
    if c.emails.len() + adding > MAX_STORED_EMAILS {
        return Err(format!(
            "the candidate holds the most addresses one candidate can keep \
             ({MAX_STORED_EMAILS}, every user's manual addresses included)"
        ));
    }
    Ok(())
}

pub(crate) fn text_field(
    field: &str,
    value: Option<String>,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match &value {
        None if required => errors.push(FieldError::new(field, "is required")),
        Some(v) if v.chars().count() > MAX_TEXT => errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        )),
        _ => {}
    }
    value
}

impl Catalog<'_> {
    /// Creates a candidate; creating never spends a credit.
    pub async fn create_candidate(
        &self,
        who: &Identity,
        input: NewCandidate,
    ) -> Result<Candidate, Error> {
        self.ensure_org(&who.org_id).await?;
        let mut errors = Vec::new();
        let first_name = text_field("first_name", Some(input.first_name), true, &mut errors);
        let last_name = text_field("last_name", Some(input.last_name), false, &mut errors);
        let title = text_field("title", input.title, false, &mut errors);
        let company = text_field("company", input.company, false, &mut errors);
        let location = text_field("location", input.location, false, &mut errors);
        let timezone = match input
            .timezone
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(tz) => match Zone::parse(tz) {
                Ok(z) => Some(z),
                Err(e) => {
                    errors.push(FieldError::new("timezone", e.to_string()));
                    None
                }
            },
            None => None,
        };
        if input.emails.len() > MAX_EMAILS {
            errors.push(FieldError::new(
                "emails",
                format!("at most {MAX_EMAILS} addresses"),
            ));
        }
        let mut emails: Vec<CandidateEmail> = Vec::new();
        for (i, e) in input.emails.into_iter().enumerate() {
            match EmailAddress::parse(&e.address) {
                // The same address twice keeps its first, most relevant, place.
                Ok(address) if emails.iter().any(|x| x.address == address) => {}
                Ok(address) => emails.push(CandidateEmail {
                    address,
                    kind: e.kind,
                    manual_by: None,
                    bounced: false,
                }),
                Err(err) => errors.push(FieldError::new(
                    format!("emails[{i}].address"),
                    err.to_string(),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Error::invalid_many(errors));
        }
        let candidate = Candidate {
            id: CandidateId::new(self.new_id(CandidateId::PREFIX)),
            org_id: who.org_id.clone(),
            first_name: first_name.unwrap_or_default(),
            last_name: last_name.unwrap_or_default(),
            title,
            company,
            location,
            timezone,
            emails,
            opted_out: false,
            erased: false,
        };
        self.store.put_candidate(&candidate, None).await?;
        Ok(candidate)
    }

    pub async fn candidate(&self, who: &Identity, id: &str) -> Result<Candidate, Error> {
        self.store
            .get_candidate(&who.org_id, &CandidateId::from(id))
            .await?
            .map(|v| v.value)
            .filter(|c| !c.erased)
            .ok_or(Error::NotFound("candidate"))
    }

    pub async fn list_candidates(
        &self,
        who: &Identity,
        page: &PageRequest,
    ) -> Result<Page<Candidate>, Error> {
        let mut p = self.store.list_candidates(&who.org_id, page).await?;
        p.items.retain(|c| !c.erased);
        Ok(p)
    }

    /// Reveals a candidate's contacts for the organization: one credit, once.
    pub async fn reveal(&self, who: &Identity, id: &str) -> Result<u32, Error> {
        self.ensure_org(&who.org_id).await?;
        let candidate = self.candidate(who, id).await?;
        match self
            .store
            .reveal(&who.org_id, &candidate.id, self.now())
            .await?
        {
            RevealOutcome::Spent => Ok(1),
            RevealOutcome::AlreadyRevealed => Ok(0),
            RevealOutcome::NoCredits => Err(Error::NoCredits(
                "the organization has no contact credits left".into(),
            )),
        }
    }

    pub async fn credits(
        &self,
        who: &Identity,
        page: &PageRequest,
    ) -> Result<(i64, Page<LedgerEntry>), Error> {
        self.ensure_org(&who.org_id).await?;
        let balance = self.store.credit_balance(&who.org_id).await?;
        let ledger = self.store.ledger(&who.org_id, page).await?;
        Ok((balance, ledger))
    }
}

/// The "use this address first" pins of one candidate in one project:
/// a pinned profile address applies to every campaign of the project; a pinned
/// manual address only to its author's campaigns, so it is never revealed to
/// colleagues.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pins {
    #[serde(default)]
    pub shared: Option<EmailAddress>,
    #[serde(default)]
    pub personal: std::collections::BTreeMap<String, EmailAddress>,
}

impl Pins {
    pub fn for_owner(&self, owner: &outreach_domain::ids::UserId) -> Option<&EmailAddress> {
        self.personal.get(owner.as_str()).or(self.shared.as_ref())
    }
}

pub(crate) fn pins_key(
    org: &outreach_domain::ids::OrgId,
    project: &str,
    candidate: &CandidateId,
) -> String {
    format!("pins:{org}:{project}:{candidate}")
}

/// A change of a candidate's fields; absent fields stay as they are.
#[derive(Debug)]
pub struct CandidateUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<String>,
}

impl Catalog<'_> {
    /// a manual address, visible to and usable by its author alone.
    pub async fn add_manual_email(
        &self,
        who: &Identity,
        id: &str,
        address: &str,
        kind: EmailType,
    ) -> Result<Candidate, Error> {
        let address =
            EmailAddress::parse(address).map_err(|e| Error::invalid("address", e.to_string()))?;
        let candidate = self.candidate(who, id).await?;
        let user = who.user_id.clone();
        let updated = self
            .change_candidate(who, &candidate.id, |c| {
                if c.emails
                    .iter()
                    .any(|e| e.address == address && e.visible_to(&user))
                {
                    return Err(Error::Conflict(
                        "the candidate already has this address".into(),
                    ));
                }
                room_for(c, &user, 1).map_err(|m| Error::invalid("address", m))?;
                c.emails.push(CandidateEmail {
                    address: address.clone(),
                    kind,
                    manual_by: Some(user.clone()),
                    bounced: false,
                });
                Ok(())
            })
            .await?;
        Ok(updated)
    }

    /// pins an address of the candidate within a project.
    pub async fn pin_address(
        &self,
        who: &Identity,
        project_id: &str,
        candidate_id: &str,
        address: &str,
    ) -> Result<EmailAddress, Error> {
        let project = self.project(who, project_id).await?;
        let candidate = self.candidate(who, candidate_id).await?;
        let address =
            EmailAddress::parse(address).map_err(|e| Error::invalid("address", e.to_string()))?;
        let Some(email) = candidate
            .emails
            .iter()
            .find(|e| e.address == address && e.visible_to(&who.user_id))
        else {
            return Err(Error::invalid(
                "address",
                "not an address of this candidate",
            ));
        };
        let manual = email.is_manual();
        let user = who.user_id.to_string();
        self.update_record(
            &pins_key(&who.org_id, &project.id, &candidate.id),
            |p: &mut Pins| {
                if manual {
                    p.personal.insert(user.clone(), address.clone());
                } else {
                    p.shared = Some(address.clone());
                    p.personal.remove(&user);
                }
                Ok(true)
            },
        )
        .await?;
        Ok(address)
    }

    /// Updates a candidate's profile fields (names, title, company, location, zone).
    pub async fn update_candidate(
        &self,
        who: &Identity,
        id: &str,
        input: CandidateUpdate,
    ) -> Result<Candidate, Error> {
        let mut errors = Vec::new();
        // A field given is checked; one left out stays as it is.
        let mut given = |name, value: Option<String>, required| {
            value.map(|v| text_field(name, Some(v), required, &mut errors))
        };
        let first_name = given("first_name", input.first_name, true);
        let last_name = given("last_name", input.last_name, false);
        let title = given("title", input.title, false);
        let company = given("company", input.company, false);
        let location = given("location", input.location, false);
        let timezone = match input.timezone.as_deref() {
            Some("") => Some(None),
            Some(tz) => match Zone::parse(tz) {
                Ok(z) => Some(Some(z)),
                Err(e) => {
                    errors.push(FieldError::new("timezone", e.to_string()));
                    None
                }
            },
            None => None,
        };
        if !errors.is_empty() {
            return Err(Error::invalid_many(errors));
        }
        let candidate = self.candidate(who, id).await?;
        self.change_candidate(who, &candidate.id, |c| {
            if let Some(v) = &first_name {
                c.first_name = v.clone().unwrap_or_default();
            }
            if let Some(v) = &last_name {
                c.last_name = v.clone().unwrap_or_default();
            }
            if let Some(v) = &title {
                c.title = v.clone();
            }
            if let Some(v) = &company {
                c.company = v.clone();
            }
            if let Some(v) = &location {
                c.location = v.clone();
            }
            if let Some(v) = timezone {
                c.timezone = v;
            }
            Ok(())
        })
        .await
    }

    /// erases the candidate's personal data for the organization; its
    /// enrollments end `removed`; suppressed addresses stay suppressed, as keyed
    /// hashes only (the suppression list never held anything else).
    pub async fn erase_candidate(&self, who: &Identity, id: &str) -> Result<(), Error> {
        let candidate = self.candidate(who, id).await?;
        let now = self.now();
        for eid in self
            .store
            .enrollments_of_candidate_in_org(&who.org_id, &candidate.id)
            .await?
        {
            self.returns()
                .update_enrollment_with(&who.org_id, &eid, |e| {
                    let ended = !e.is_ended()
                        && e.end(outreach_domain::enrollment::EnrollmentStatus::Removed, now)
                            .is_ok();
                    // Overrides and custom fields are personal data too.
                    let had_data = e.override_address.is_some() || !e.custom_fields.is_empty();
                    e.override_address = None;
                    e.custom_fields.clear();
                    ended || had_data
                })
                .await?;
        }
        // The inbox's records of what the candidate wrote: before
        // the candidate is marked erased, so that a retry after a crash
        // finds the candidate and finishes; and once more after, for a reply
        // recorded meanwhile.
        self.returns()
            .erase_replies(&who.org_id, &candidate.id)
            .await?;
        self.change_candidate(who, &candidate.id, |c| {
            c.first_name = String::new();
            c.last_name = String::new();
            c.title = None;
            c.company = None;
            c.location = None;
            c.timezone = None;
            c.emails.clear();
            c.erased = true;
            Ok(())
        })
        .await?;
        self.returns()
            .erase_replies(&who.org_id, &candidate.id)
            .await?;
        Ok(())
    }

    async fn change_candidate(
        &self,
        who: &Identity,
        id: &CandidateId,
        change: impl Fn(&mut Candidate) -> Result<(), Error>,
    ) -> Result<Candidate, Error> {
        self.modify_candidate(&who.org_id, id, |c| {
            if c.erased {
                return Err(Error::NotFound("candidate"));
            }
            change(c).map(|_| true)
        })
        .await?
        .map(|(c, _)| c)
        .ok_or(Error::NotFound("candidate"))
    }

    /// Which of the candidate's addresses are suppressed (R-3.5 status `suppressed`).
    pub async fn suppressed_addresses(
        &self,
        org: &outreach_domain::ids::OrgId,
        c: &Candidate,
    ) -> Result<Vec<EmailAddress>, Error> {
        let mut out = Vec::new();
        for e in &c.emails {
            if self.returns().is_suppressed(org, &e.address).await? {
                out.push(e.address.clone());
            }
        }
        Ok(out)
    }
}
