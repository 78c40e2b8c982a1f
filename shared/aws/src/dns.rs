//! The one DNS lookup the service makes: a domain's published DMARC policy
//! (`TXT _dmarc.<domain>`, R-2.1). A plain UDP query to the system resolver
//! (the VPC resolver in Lambda), so that no resolver library joins the
//! dependencies for a single record type.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

const TXT: u16 = 16;
const IN: u16 = 1;
const TIMEOUT: Duration = Duration::from_secs(2);
const TRIES: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("`{0}` is not a domain name")]
    BadName(String),
    #[error("the DNS query failed: {0}")]
    Failed(String),
}

/// The first `nameserver` of `/etc/resolv.conf`, or 127.0.0.1.
pub fn system_resolver() -> SocketAddr {
    let ip = std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|conf| {
            conf.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("nameserver"))
                    .then(|| words.next()?.parse::<IpAddr>().ok())
                    .flatten()
            })
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, 53)
}

/// A recursive query for the TXT records of `name`.
pub fn txt_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // recursion desired
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 || !label.is_ascii() {
            return Err(DnsError::BadName(name.to_owned()));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&TXT.to_be_bytes());
    q.extend_from_slice(&IN.to_be_bytes());
    Ok(q)
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// The offset just past the (possibly compressed) name starting at `at`.
fn skip_name(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xC0 == 0xC0 => return Some(at + 2),
            l => at += 1 + l as usize,
        }
    }
}

/// The TXT records of an answer to query `id`; none for a name that does not exist.
pub fn parse_txt_answer(id: u16, bytes: &[u8]) -> Result<Vec<String>, DnsError> {
    let malformed = || DnsError::Failed("a malformed DNS answer".into());
    if read_u16(bytes, 0) != Some(id) {
        return Err(DnsError::Failed("an answer to another query".into()));
    }
    let flags = read_u16(bytes, 2).ok_or_else(malformed)?;
    if flags & 0x8000 == 0 {
        return Err(malformed());
    }
    if flags & 0x0200 != 0 {
        return Err(DnsError::Failed("the answer was truncated".into()));
    }
    match flags & 0x000F {
        0 => {}
        3 => return Ok(Vec::new()), // NXDOMAIN: no policy published
        code => {
            return Err(DnsError::Failed(format!(
                "the resolver answered rcode {code}"
            )));
        }
    }
    let questions = read_u16(bytes, 4).ok_or_else(malformed)?;
    let answers = read_u16(bytes, 6).ok_or_else(malformed)?;
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(bytes, at).ok_or_else(malformed)? + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        at = skip_name(bytes, at).ok_or_else(malformed)?;
        let kind = read_u16(bytes, at).ok_or_else(malformed)?;
        let length = read_u16(bytes, at + 8).ok_or_else(malformed)? as usize;
        let start = at + 10;
        let data = bytes.get(start..start + length).ok_or_else(malformed)?;
        at = start + length;
        if kind != TXT {
            continue; // e.g. a CNAME on the way
        }
        // A TXT record is one or more <length><text> strings, read as one.
        let mut text = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let n = data[i] as usize;
            text.extend_from_slice(data.get(i + 1..i + 1 + n).ok_or_else(malformed)?);
            i += 1 + n;
        }
        records.push(String::from_utf8_lossy(&text).into_owned());
    }
    Ok(records)
}

/// The `p=` tag of a DMARC record (`none`, `quarantine`, `reject`), lower-cased.
pub fn dmarc_policy_of(records: &[String]) -> Option<String> {
    records
        .iter()
        .find(|r| {
            r.trim_start()
                .get(..8)
                .is_some_and(|v| v.eq_ignore_ascii_case("v=DMARC1"))
        })
        .and_then(|r| {
            r.split(';').find_map(|tag| {
                let (name, value) = tag.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("p")
                    .then(|| value.trim().to_ascii_lowercase())
            })
        })
}

/// The TXT records of `name`, asked of `resolver`.
pub async fn lookup_txt(resolver: SocketAddr, name: &str) -> Result<Vec<String>, DnsError> {
    let id: u16 = rand::random();
    let query = txt_query(id, name)?;
    let local: SocketAddr = if resolver.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| DnsError::Failed(e.to_string()))?;
    let mut answer = vec![0u8; 4096];
    let mut last = DnsError::Failed("no answer".into());
    for _ in 0..TRIES {
        if let Err(e) = socket.send_to(&query, resolver).await {
            last = DnsError::Failed(e.to_string());
            continue;
        }
        match tokio::time::timeout(TIMEOUT, socket.recv_from(&mut answer)).await {
            Ok(Ok((n, from))) if from == resolver => {
                return parse_txt_answer(id, &answer[..n]);
            }
            Ok(Ok(_)) => last = DnsError::Failed("an answer from elsewhere".into()),
            Ok(Err(e)) => last = DnsError::Failed(e.to_string()),
            Err(_) => last = DnsError::Failed("the resolver did not answer in time".into()),
        }
    }
    Err(last)
}

/// The DMARC policy `domain` publishes, if any.
pub async fn dmarc_policy(resolver: SocketAddr, domain: &str) -> Result<Option<String>, DnsError> {
    let records = lookup_txt(
        resolver,
        &format!("_dmarc.{}", domain.trim_end_matches('.')),
    )
    .await?;
    Ok(dmarc_policy_of(&records))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer to `query` carrying `records` as TXT answers.
    fn answer(query: &[u8], rcode: u16, records: &[&[&str]]) -> Vec<u8> {
        let mut a = query.to_vec();
        a[2..4].copy_from_slice(&(0x8180u16 | rcode).to_be_bytes());
        a[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
        for strings in records {
            a.extend_from_slice(&[0xC0, 12]); // the question's name
            a.extend_from_slice(&TXT.to_be_bytes());
            a.extend_from_slice(&IN.to_be_bytes());
            a.extend_from_slice(&300u32.to_be_bytes());
            let data: Vec<u8> = strings
                .iter()
                .flat_map(|s| std::iter::once(s.len() as u8).chain(s.bytes()))
                .collect();
            a.extend_from_slice(&(data.len() as u16).to_be_bytes());
            a.extend_from_slice(&data);
        }
        a
    }

    #[test]
    fn queries_and_answers_round_trip() {
        let q = txt_query(7, "_dmarc.acme.example").expect("a query");
        let a = answer(
            &q,
            0,
            &[
                &["v=spf1 -all"],
                &["v=DMARC1; ", "p=Reject; rua=mailto:d@acme.example"],
            ],
        );
        let records = parse_txt_answer(7, &a).expect("parsed");
        assert_eq!(records[1], "v=DMARC1; p=Reject; rua=mailto:d@acme.example");
        assert_eq!(dmarc_policy_of(&records), Some("reject".into()));
        assert_eq!(parse_txt_answer(7, &answer(&q, 3, &[])), Ok(vec![]));
        assert!(parse_txt_answer(8, &a).is_err());
        assert!(parse_txt_answer(7, &a[..a.len() - 3]).is_err());
        assert!(txt_query(1, "bad..name").is_err());
    }

    #[test]
    fn only_a_dmarc_record_has_a_policy() {
        assert_eq!(dmarc_policy_of(&["v=spf1 p=reject".into()]), None);
        assert_eq!(
            dmarc_policy_of(&["v=DMARC1;p=quarantine;pct=50".into()]),
            Some("quarantine".into())
        );
        assert_eq!(dmarc_policy_of(&["v=DMARC1; rua=mailto:x@y".into()]), None);
    }

    #[tokio::test]
    async fn a_policy_is_asked_of_the_resolver() {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("a socket");
        let resolver = server.local_addr().expect("its address");
        let responder = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let (n, from) = server.recv_from(&mut buf).await.expect("a query");
            let reply = answer(&buf[..n], 0, &[&["v=DMARC1; p=none"]]);
            server.send_to(&reply, from).await.expect("answered");
        });
        assert_eq!(
            dmarc_policy(resolver, "acme.example").await,
            Ok(Some("none".into()))
        );
        responder.await.expect("the responder ran");
    }
}
