//! Opaque identifiers. Each kind of id is its own type so that a campaign id can
//! never be passed where an enrollment id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix new ids of this kind carry (`cmp_…`); ids coming from outside
            /// are accepted as they are, since they are opaque.
            pub const PREFIX: &'static str = $prefix;

            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

id_type!(
    /// An organization (tenant), from the token's `org_id` claim.
    OrgId, "org"
);
id_type!(
    /// A user, from the token's `sub` claim.
    UserId, "usr"
);
id_type!(
    /// A linked sender account.
    AccountId, "acc"
);
id_type!(
    /// A candidate.
    CandidateId, "cand"
);
id_type!(
    /// A project.
    ProjectId, "prj"
);
id_type!(
    /// A messaging template.
    TemplateId, "tpl"
);
id_type!(
    /// A campaign.
    CampaignId, "cmp"
);
id_type!(
    /// One candidate in one campaign.
    EnrollmentId, "enr"
);
