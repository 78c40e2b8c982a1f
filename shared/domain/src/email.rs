//! Email addresses in canonical form (R-3.5: trimmed, lower-cased, domain in IDNA form).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A syntactically valid address, kept in canonical form so that two spellings
/// of the same address compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEmail {
    #[error("an email address is required")]
    Empty,
    #[error("`{0}` is not an email address")]
    Malformed(String),
    #[error("the domain of `{0}` is not a valid domain name")]
    BadDomain(String),
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(InvalidEmail::Empty);
        }
        if trimmed.len() > 254
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
            || trimmed.contains(['<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']'])
        {
            return Err(InvalidEmail::Malformed(trimmed.to_owned()));
        }
        let (local, domain) = trimmed
            .rsplit_once('@')
            .ok_or_else(|| InvalidEmail::Malformed(trimmed.to_owned()))?;
        if local.is_empty() || local.len() > 64 || local.contains('@') || domain.is_empty() {
            return Err(InvalidEmail::Malformed(trimmed.to_owned()));
        }
        let ascii_domain = idna::domain_to_ascii(domain)
            .map_err(|_| InvalidEmail::BadDomain(trimmed.to_owned()))?;
        let labels_ok = ascii_domain.contains('.')
            && ascii_domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok {
            return Err(InvalidEmail::BadDomain(trimmed.to_owned()));
        }
        Ok(EmailAddress(format!(
            "{}@{}",
            local.to_lowercase(),
            ascii_domain
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or("")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EmailAddress::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_trims_lowercases_and_idna_encodes() {
        //
        let a = EmailAddress::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "jane.doe@example.com");
        let b = EmailAddress::parse("anna@Bücher.de").unwrap();
        assert_eq!(b.as_str(), "anna@xn--bcher-kva.de");
        assert_eq!(
            EmailAddress::parse("anna@xn--bcher-kva.de").unwrap(),
            EmailAddress::parse("ANNA@bücher.DE").unwrap()
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "plain",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@b",
            "a@b..com",
            "x@y.com\r\nBcc: z@w.com",
            "a<b@c.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
