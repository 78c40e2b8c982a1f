//! The text of a notification, bounded (issue 19 item
//! 4): a notification names the paused campaigns, and a sender's failure can
//! pause hundreds of them; the record must still fit its item.

use outreach_domain::ids::CampaignId;
use outreach_domain::text::bounded;

/// Most campaigns a notification's message names; the rest are counted.
pub const MAX_NAMED: usize = 20;
/// Most characters of one campaign's name in a notification's message.
pub const MAX_NAME_CHARS: usize = 100;
/// Most campaign ids a notification keeps (about 40 bytes each).
pub const MAX_IDS: usize = 1_000;

/// The paused campaigns' names, quoted, for a notification's message: the
/// first [`MAX_NAMED`], each cut to [`MAX_NAME_CHARS`], then "and N more".
pub fn named_campaigns(campaigns: &[(CampaignId, String)]) -> String {
    let mut names: Vec<String> = campaigns
        .iter()
        .take(MAX_NAMED)
        .map(|(_, n)| format!("“{}”", bounded(n, MAX_NAME_CHARS)))
        .collect();
    if campaigns.len() > MAX_NAMED {
        names.push(format!("and {} more", campaigns.len() - MAX_NAMED));
    }
    names.join(", ")
}

/// The ids a notification keeps: the first [`MAX_IDS`].
pub fn kept_ids(campaigns: Vec<(CampaignId, String)>) -> Vec<CampaignId> {
    campaigns
        .into_iter()
        .take(MAX_IDS)
        .map(|(id, _)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_long_names_make_a_bounded_message() {
        // issue 19 item 4: 340 campaigns with 200-character names of
        // control characters (six bytes each as JSON) made a notification over
        // the item limit, and it was lost.
        let campaigns: Vec<(CampaignId, String)> = (0..340)
            .map(|i| {
                (
                    CampaignId::new(format!("cmp_{i}")),
                    format!("{i:04}{}", "\u{1}".repeat(196)),
                )
            })
            .collect();
        let message = named_campaigns(&campaigns);
        assert!(message.ends_with(", and 320 more"), "{message:.80}");
        assert_eq!(message.matches('“').count(), MAX_NAMED);
        assert!(serde_json::to_string(&message).unwrap().len() < 16 * 1024);
        assert_eq!(kept_ids(campaigns).len(), 340);
        let few = vec![(CampaignId::from("cmp_1"), "Q3".to_owned())];
        assert_eq!(named_campaigns(&few), "“Q3”");
    }
}
