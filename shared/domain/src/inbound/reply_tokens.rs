//! Reply tokens in recipient addresses, `reply+TOKEN@reply_domain`: the first way a
//! reply is matched to its enrollment. The domain compares ignoring case; a token is
//! kept as written (see the module docs of [`super`] on case), at most
//! [`MAX_REPLY_TOKENS`] per message.

use crate::EmailAddress;

use super::mime::strip_brackets;

/// Most reply tokens one message is looked up by.
pub const MAX_REPLY_TOKENS: usize = 10;

/// Tokens of `reply+TOKEN@reply_domain` among canonical addresses. [`EmailAddress`] has
/// lower-cased the local part, so these tokens are lower-cased too: prefer
/// [`reply_tokens_raw`] with [`super::Inbound::recipients_raw`] (module docs).
pub fn reply_tokens(recipients: &[EmailAddress], reply_domain: &str) -> Vec<String> {
    let addresses: Vec<&str> = recipients.iter().map(EmailAddress::as_str).collect();
    reply_tokens_raw(&addresses, reply_domain)
}

/// Tokens of `reply+TOKEN@reply_domain` among addresses as written, case kept (look
/// them up with [`crate::token::lookup_forms`]). The
/// domain compares case-insensitively; a token is one or more of `[A-Za-z0-9_-]` (URL-safe
/// base64). Duplicates are dropped, order kept.
pub fn reply_tokens_raw<S: AsRef<str>>(addresses: &[S], reply_domain: &str) -> Vec<String> {
    let reply_domain = reply_domain.trim().trim_end_matches('.');
    let mut tokens = Vec::new();
    for address in addresses {
        let address = strip_brackets(address.as_ref().trim());
        let Some((local, domain)) = address.rsplit_once('@') else {
            continue;
        };
        if !domain
            .trim_end_matches('.')
            .eq_ignore_ascii_case(reply_domain)
        {
            continue;
        }
        let Some(token) = local
            .get(..6)
            .filter(|prefix| prefix.eq_ignore_ascii_case("reply+"))
            .and_then(|_| local.get(6..))
        else {
            continue;
        };
        let valid = !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid && !tokens.iter().any(|t| t == token) {
            tokens.push(token.to_owned());
            if tokens.len() == MAX_REPLY_TOKENS {
                break;
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_tokens_keep_case_and_check_the_domain() {
        //
        let raw = [
            "reply+Ab3_dE-9@Reply.Outreach.example",
            "<reply+XYZ@reply.outreach.example>",
            "reply+bad!@reply.outreach.example",
            "reply+@reply.outreach.example",
            "reply+Other@elsewhere.example",
            "maya@talentco.example",
            "reply+Ab3_dE-9@reply.outreach.example",
        ];
        assert_eq!(
            reply_tokens_raw(&raw, "reply.outreach.example"),
            vec!["Ab3_dE-9".to_owned(), "XYZ".to_owned()]
        );
        let canonical: Vec<EmailAddress> = raw
            .iter()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect();
        assert_eq!(
            reply_tokens(&canonical, "REPLY.outreach.example"),
            vec!["ab3_de-9".to_owned()]
        );
    }
}
