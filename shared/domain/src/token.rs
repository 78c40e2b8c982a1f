//! The spelling of Reply-To and unsubscribe tokens.
//!
//! Mail systems may lower-case (or upper-case) the local part of
//! `reply+TOKEN@reply-domain`, so a token is written in lower-case base32
//! (RFC 4648 alphabet, lower-cased, no padding): case-folding cannot change
//! what it says. Tokens issued before this spelling were mixed-case URL-safe
//! base64; [`lookup_forms`] lists what to look up so both keep working.

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `bytes` as lower-case base32 without padding: 32 random bytes give 52
/// characters, so `reply+` and a token fit the 64-octet local part.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The keys to look a token up under, in order: as written (a token issued in
/// mixed-case base64 is found only with its case intact), then lower-cased
/// (a base32 token whose case a mail system changed). Never empty.
pub fn lookup_forms(token: &str) -> Vec<String> {
    let lower = token.to_ascii_lowercase();
    if lower == token {
        vec![lower]
    } else {
        vec![token.to_owned(), lower]
    }
}

/// Whether `presented` names the token `issued` (R-9.6: matching ignores case).
pub fn same_token(issued: &str, presented: &str) -> bool {
    !issued.is_empty() && issued.eq_ignore_ascii_case(presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_follows_rfc_4648_in_lower_case() {
        // RFC 4648 §10 test vectors, lower-cased and without padding.
        let vectors = [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ];
        for (input, expected) in vectors {
            assert_eq!(encode(input.as_bytes()), expected, "{input:?}");
        }
        let token = encode(&[0xff; 32]);
        assert_eq!(token.len(), 52);
        assert_eq!(token, token.to_ascii_lowercase());
    }

    #[test]
    fn lookups_try_the_written_case_first_then_lower_case() {
        //
        assert_eq!(lookup_forms("abc234"), vec!["abc234"]);
        assert_eq!(lookup_forms("AbC-_9"), vec!["AbC-_9", "abc-_9"]);
        assert!(same_token("abc234", "ABC234"));
        assert!(!same_token("", ""));
        assert!(!same_token("abc234", "abc235"));
    }
}
