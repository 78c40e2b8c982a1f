//! Candidates and contact credits.

use outreach_domain::candidate::{Candidate, CandidateEmail, EmailType};
use outreach_domain::ids::CandidateId;
use outreach_domain::{EmailAddress, Zone};
use serde::Deserialize;

use crate::auth::Identity;
use crate::error::{ApiError, FieldError};
use crate::model::LedgerEntry;
use crate::ports::{Page, PageRequest, RevealOutcome};
use crate::service::Service;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCandidate {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub emails: Vec<NewEmail>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEmail {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: EmailType,
}

const MAX_TEXT: usize = 200;
const MAX_EMAILS: usize = 20;

fn text_field(
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

impl Service {
    /// Creates a candidate; creating never spends a credit.
    pub async fn create_candidate(
        &self,
        who: &Identity,
        input: NewCandidate,
    ) -> Result<Candidate, ApiError> {
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
            return Err(ApiError::invalid_many(errors));
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
        };
        self.store.put_candidate(&candidate, None).await?;
        Ok(candidate)
    }

    pub async fn candidate(&self, who: &Identity, id: &str) -> Result<Candidate, ApiError> {
        self.store
            .get_candidate(&who.org_id, &CandidateId::from(id))
            .await?
            .map(|v| v.value)
            .ok_or(ApiError::NotFound("candidate"))
    }

    pub async fn list_candidates(
        &self,
        who: &Identity,
        page: &PageRequest,
    ) -> Result<Page<Candidate>, ApiError> {
        Ok(self.store.list_candidates(&who.org_id, page).await?)
    }

    /// Reveals a candidate's contacts for the organization: one credit, once.
    pub async fn reveal(&self, who: &Identity, id: &str) -> Result<u32, ApiError> {
        self.ensure_org(&who.org_id).await?;
        let candidate = self.candidate(who, id).await?;
        match self
            .store
            .reveal(&who.org_id, &candidate.id, self.now())
            .await?
        {
            RevealOutcome::Spent => Ok(1),
            RevealOutcome::AlreadyRevealed => Ok(0),
            RevealOutcome::NoCredits => Err(ApiError::PaymentRequired(
                "the organization has no contact credits left".into(),
            )),
        }
    }

    pub async fn credits(
        &self,
        who: &Identity,
        page: &PageRequest,
    ) -> Result<(i64, Page<LedgerEntry>), ApiError> {
        self.ensure_org(&who.org_id).await?;
        let balance = self.store.credit_balance(&who.org_id).await?;
        let ledger = self.store.ledger(&who.org_id, page).await?;
        Ok((balance, ledger))
    }
}
