//! The caller's profile.

use outreach_domain::Zone;

use super::Accounts;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::UserProfile;

impl Accounts<'_> {
    /// The caller's profile; a user never seen before gets the defaults.
    pub async fn me(&self, who: &Identity) -> Result<UserProfile, Error> {
        self.ensure_org(&who.org_id).await?;
        Ok(self
            .store
            .get_user(&who.org_id, &who.user_id)
            .await?
            .unwrap_or_else(|| default_profile(who)))
    }

    pub async fn update_me(
        &self,
        who: &Identity,
        display_name: Option<String>,
        timezone: Option<String>,
    ) -> Result<UserProfile, Error> {
        let mut profile = self.me(who).await?;
        if let Some(name) = display_name {
            profile.display_name = outreach_domain::Name::parse(&name)
                .map_err(|e| Error::invalid("display_name", e.to_string()))?
                .into_string();
        }
        if let Some(tz) = timezone {
            profile.timezone =
                Zone::parse(&tz).map_err(|e| Error::invalid("timezone", e.to_string()))?;
        }
        self.store.put_user(&profile).await?;
        Ok(profile)
    }
}

fn default_profile(who: &Identity) -> UserProfile {
    UserProfile {
        id: who.user_id.clone(),
        org_id: who.org_id.clone(),
        display_name: who.user_id.as_str().to_owned(),
        timezone: Zone::UTC,
        notification_address: who.email.clone(),
    }
}
