//! Which address receives a step.

use crate::campaign::RecipientSetting;
use crate::candidate::{CandidateEmail, EmailType};
use crate::email::EmailAddress;
use crate::ids::UserId;

/// Everything the choice depends on, so the rule lives in one place
/// whatever part of the API set each input.
pub struct AddressInputs<'a> {
    /// The candidate's addresses in relevancy order, manual ones included.
    pub emails: &'a [CandidateEmail],
    /// The campaign's owner: only their manual addresses are usable.
    pub owner: &'a UserId,
    /// The enrollment's override.
    pub override_address: Option<&'a EmailAddress>,
    /// The project pin captured when the candidate joined the campaign.
    pub pin: Option<&'a EmailAddress>,
    pub setting: RecipientSetting,
    /// Addresses never to use: the organization's suppression list and
    /// addresses bounced anywhere in the organization.
    pub excluded: &'a dyn Fn(&EmailAddress) -> bool,
}

/// The address the next message goes to, or `None` when no address qualifies
/// the caller ends the enrollment `bounced` or blocks it `no_address`).
pub fn choose_address(inputs: &AddressInputs<'_>) -> Option<EmailAddress> {
    let usable = usable_addresses(inputs);
    let allowed = |a: &EmailAddress| !(inputs.excluded)(a) && !is_bounced(inputs.emails, a);

    // (1) override, (2) pin — a pin must still be an address this owner may use.
    if let Some(a) = inputs.override_address.filter(|a| allowed(a)) {
        return Some(a.clone());
    }
    if let Some(a) = inputs
        .pin
        .filter(|a| allowed(a) && usable.iter().any(|e| &e.address == *a))
    {
        return Some(a.clone());
    }
    // (3) preference with its fallback order, (4) the first address listed.
    let first_of = |kind: EmailType| {
        usable
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.address.clone())
    };
    match inputs.setting.prefer {
        Some(preferred) if inputs.setting.strict => first_of(preferred),
        Some(preferred) => {
            let other = match preferred {
                EmailType::Work => EmailType::Personal,
                EmailType::Personal => EmailType::Work,
                EmailType::Other => EmailType::Other,
            };
            first_of(preferred)
                .or_else(|| first_of(other))
                .or_else(|| first_of(EmailType::Other))
        }
        None => usable.first().map(|e| e.address.clone()),
    }
}

/// profile addresses in relevancy order, then the owner's manual ones,
/// without bounced or excluded addresses.
fn usable_addresses<'a>(inputs: &AddressInputs<'a>) -> Vec<&'a CandidateEmail> {
    let ok = |e: &&CandidateEmail| !e.bounced && !(inputs.excluded)(&e.address);
    let profile = inputs.emails.iter().filter(|e| !e.is_manual()).filter(ok);
    let manual = inputs
        .emails
        .iter()
        .filter(|e| e.manual_by.as_ref() == Some(inputs.owner))
        .filter(ok);
    profile.chain(manual).collect()
}

fn is_bounced(emails: &[CandidateEmail], address: &EmailAddress) -> bool {
    emails.iter().any(|e| &e.address == address && e.bounced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(a: &str, kind: EmailType) -> CandidateEmail {
        CandidateEmail {
            address: EmailAddress::parse(a).unwrap(),
            kind,
            manual_by: None,
            bounced: false,
        }
    }

    fn addr(a: &str) -> EmailAddress {
        EmailAddress::parse(a).unwrap()
    }

    fn choose(
        emails: &[CandidateEmail],
        setting: RecipientSetting,
        override_address: Option<&EmailAddress>,
        pin: Option<&EmailAddress>,
        excluded: &dyn Fn(&EmailAddress) -> bool,
    ) -> Option<String> {
        let owner = UserId::from("usr_owner");
        choose_address(&AddressInputs {
            emails,
            owner: &owner,
            override_address,
            pin,
            setting,
            excluded,
        })
        .map(|a| a.as_str().to_owned())
    }

    const NONE: &dyn Fn(&EmailAddress) -> bool = &|_| false;

    fn list() -> Vec<CandidateEmail> {
        vec![
            email("p1@home.com", EmailType::Personal),
            email("w1@corp.com", EmailType::Work),
            email("o1@misc.com", EmailType::Other),
            email("w2@corp.com", EmailType::Work),
        ]
    }

    #[test]
    fn without_preference_the_first_listed_wins() {
        // R-7.2 (4)
        assert_eq!(
            choose(&list(), RecipientSetting::default(), None, None, NONE).as_deref(),
            Some("p1@home.com")
        );
    }

    #[test]
    fn preference_picks_first_of_type_then_falls_back() {
        // R-7.2 (3)
        let work = RecipientSetting {
            prefer: Some(EmailType::Work),
            strict: false,
        };
        assert_eq!(
            choose(&list(), work, None, None, NONE).as_deref(),
            Some("w1@corp.com")
        );
        let only_other = vec![
            email("o1@misc.com", EmailType::Other),
            email("p@x.com", EmailType::Personal),
        ];
        assert_eq!(
            choose(&only_other, work, None, None, NONE).as_deref(),
            Some("p@x.com")
        );
        let other_last = vec![email("o1@misc.com", EmailType::Other)];
        assert_eq!(
            choose(&other_last, work, None, None, NONE).as_deref(),
            Some("o1@misc.com")
        );
    }

    #[test]
    fn strict_preference_never_uses_another_type() {
        // R-7.2 (3) strict
        let strict = RecipientSetting {
            prefer: Some(EmailType::Work),
            strict: true,
        };
        let personal_only = vec![email("p@x.com", EmailType::Personal)];
        assert_eq!(choose(&personal_only, strict, None, None, NONE), None);
    }

    #[test]
    fn override_beats_pin_beats_preference() {
        // R-7.2 (1), (2)
        let work = RecipientSetting {
            prefer: Some(EmailType::Work),
            strict: true,
        };
        let typed = addr("typed@new.com");
        let pin = addr("o1@misc.com");
        assert_eq!(
            choose(&list(), work, Some(&typed), Some(&pin), NONE).as_deref(),
            Some("typed@new.com")
        );
        assert_eq!(
            choose(&list(), work, None, Some(&pin), NONE).as_deref(),
            Some("o1@misc.com")
        );
    }

    #[test]
    fn bounced_and_suppressed_are_never_chosen() {
        //
        let mut emails = list();
        emails[0].bounced = true;
        let suppressed = |a: &EmailAddress| a.as_str() == "w1@corp.com";
        assert_eq!(
            choose(
                &emails,
                RecipientSetting::default(),
                None,
                None,
                &suppressed
            )
            .as_deref(),
            Some("o1@misc.com")
        );
        let bounced_override = addr("p1@home.com");
        assert_eq!(
            choose(
                &emails,
                RecipientSetting::default(),
                Some(&bounced_override),
                None,
                &suppressed
            )
            .as_deref(),
            Some("o1@misc.com")
        );
    }

    #[test]
    fn manual_addresses_come_last_and_only_the_owners() {
        //
        let mut theirs = email("colleague@manual.com", EmailType::Work);
        theirs.manual_by = Some(UserId::from("usr_other"));
        let mut mine = email("mine@manual.com", EmailType::Work);
        mine.manual_by = Some(UserId::from("usr_owner"));
        let emails = vec![theirs, mine, email("p@x.com", EmailType::Personal)];
        assert_eq!(
            choose(&emails, RecipientSetting::default(), None, None, NONE).as_deref(),
            Some("p@x.com")
        );
        let work = RecipientSetting {
            prefer: Some(EmailType::Work),
            strict: true,
        };
        assert_eq!(
            choose(&emails, work, None, None, NONE).as_deref(),
            Some("mine@manual.com")
        );
        // A pin on a colleague's manual address is not usable by this owner.
        let pin = addr("colleague@manual.com");
        assert_eq!(
            choose(&emails, work, None, Some(&pin), NONE).as_deref(),
            Some("mine@manual.com")
        );
    }
}
