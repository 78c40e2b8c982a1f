//! Names people give things — a campaign, a project, a template, their own display name
//! — and the one rule they share: trimmed, then 1 to [`MAX_NAME_CHARS`] characters.
//!
//! SPEC does not state the bound; it is the project's convention, kept here so that
//! every use case checks it the same way ("parse, don't validate": a [`Name`] is valid
//! once it exists).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Most characters (Unicode scalar values, not bytes) in a name.
pub const MAX_NAME_CHARS: usize = 200;

/// A name without surrounding whitespace, 1 to [`MAX_NAME_CHARS`] characters long.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Why a text is not a [`Name`]. The message reads after the field's name
/// (`name: must be 1 to 200 characters`), as the API's field errors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {MAX_NAME_CHARS} characters")]
pub struct InvalidName;

impl Name {
    /// `raw` trimmed, when 1 to [`MAX_NAME_CHARS`] characters remain.
    pub fn parse(raw: &str) -> Result<Name, InvalidName> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(InvalidName);
        }
        Ok(Name(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Name {
    type Error = InvalidName;

    fn try_from(raw: String) -> Result<Name, InvalidName> {
        Name::parse(&raw)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_one_to_two_hundred_characters() {
        assert_eq!(
            Name::parse("  Staff engineers  ").unwrap().as_str(),
            "Staff engineers"
        );
        assert_eq!(Name::parse(""), Err(InvalidName));
        assert_eq!(Name::parse(" \t\n "), Err(InvalidName));
        // Characters, not bytes: 200 two-byte characters fit, 201 do not.
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert_eq!(Name::parse(&"é".repeat(201)), Err(InvalidName));
        // The bound applies after trimming.
        assert!(Name::parse(&format!("  {}  ", "x".repeat(200))).is_ok());
        assert_eq!(InvalidName.to_string(), "must be 1 to 200 characters");
    }

    #[test]
    fn its_json_form_is_a_checked_string() {
        let name: Name = serde_json::from_str(r#"" Ada ""#).unwrap();
        assert_eq!(name.as_str(), "Ada");
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""Ada""#);
        assert!(serde_json::from_str::<Name>(r#""   ""#).is_err());
    }
}
