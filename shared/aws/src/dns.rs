//! The one DNS question the service asks: which DMARC policy a receiver
//! applies to mail from a domain (R-2.1, RFC 7489 §6.6.3). The record at
//! `_dmarc.<domain>` counts; without one, the organizational domain's record
//! (the public suffix list says where it is) with its `sp=` for subdomains. A
//! lookup that fails is an error, never "no policy".
//!
//! The rules are plain functions over a [`TxtLookup`], tested with a fake;
//! [`SystemResolver`] is the network side (hickory on the system's name
//! server, the VPC resolver in Lambda).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("`{0}` is not a domain name")]
    BadName(String),
    /// A timeout, SERVFAIL, a truncated answer, no resolver: nothing is known.
    #[error("the DNS lookup of {name} failed: {why}")]
    Failed { name: String, why: String },
}

/// The TXT records at a name: the network side of the DMARC rules.
#[async_trait::async_trait]
pub trait TxtLookup: Send + Sync {
    /// Each TXT record's strings joined into one; none when the name does not
    /// exist or has no TXT record (NXDOMAIN, NODATA).
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

/// A DMARC policy (`p=`, `sp=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    fn parse(value: &str) -> Option<Policy> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
}

/// A published DMARC record, reduced to what decides delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmarcRecord {
    /// `p=`; a record without a valid one acts as `none` (RFC 7489 §6.6.3).
    pub policy: Policy,
    /// `sp=`, the policy for subdomains of the organizational domain.
    pub subdomain_policy: Option<Policy>,
}

/// One TXT record read as DMARC: `v=DMARC1` first, then `tag=value` pairs.
pub fn parse_record(text: &str) -> Option<DmarcRecord> {
    let mut tags = text
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.split_once('='))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim()));
    match tags.next() {
        Some((v, version)) if v == "v" && version.eq_ignore_ascii_case("DMARC1") => {}
        _ => return None,
    }
    let mut record = DmarcRecord {
        policy: Policy::None,
        subdomain_policy: None,
    };
    for (name, value) in tags {
        match name.as_str() {
            "p" => record.policy = Policy::parse(value).unwrap_or(Policy::None),
            "sp" => record.subdomain_policy = Policy::parse(value),
            _ => {}
        }
    }
    Some(record)
}

/// The DMARC record among a name's TXT records. Several DMARC records are an
/// error of the domain's owner, and receivers then apply none (§6.6.3).
pub fn dmarc_record(records: &[String]) -> Option<DmarcRecord> {
    let mut found = records.iter().filter_map(|r| parse_record(r));
    match (found.next(), found.next()) {
        (Some(record), None) => Some(record),
        _ => None,
    }
}

/// The organizational domain of `domain` (its registrable domain by the
/// public suffix list): `acme.co.uk` for `mail.acme.co.uk`.
pub fn organizational_domain(domain: &str) -> Option<&str> {
    psl::domain_str(domain)
}

/// `domain` lower-cased, without a final dot, checked label by label.
fn domain_name(domain: &str) -> Result<String, DnsError> {
    let name = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels_ok = !name.is_empty()
        && name.len() <= 240
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if labels_ok {
        Ok(name)
    } else {
        Err(DnsError::BadName(domain.to_owned()))
    }
}

/// The policy a receiver applies to mail whose From domain is `domain`:
/// the domain's own record, else its organizational domain's `sp=` (or `p=`).
pub async fn applicable_policy(lookup: &dyn TxtLookup, domain: &str) -> Result<Policy, DnsError> {
    let domain = domain_name(domain)?;
    if let Some(record) = dmarc_record(&lookup.txt(&format!("_dmarc.{domain}")).await?) {
        return Ok(record.policy);
    }
    match organizational_domain(&domain) {
        Some(org) if org != domain => {
            let records = lookup.txt(&format!("_dmarc.{org}")).await?;
            Ok(dmarc_record(&records)
                .map_or(Policy::None, |r| r.subdomain_policy.unwrap_or(r.policy)))
        }
        _ => Ok(Policy::None),
    }
}

/// How long one query waits, and how often it is asked: the link request waits
/// for it (at worst about 2 × 2 s per name).
const TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPTS: usize = 2;

/// TXT lookups through hickory on the system's name servers (`/etc/resolv.conf`).
pub struct SystemResolver {
    resolver: Result<TokioResolver, String>,
}

impl SystemResolver {
    /// The name servers of `/etc/resolv.conf`; without it, every lookup fails.
    pub fn new() -> Self {
        let resolver = TokioResolver::builder_tokio()
            .map(|mut builder| {
                let opts = options(builder.options_mut().clone());
                *builder.options_mut() = opts;
                builder
            })
            .and_then(|builder| builder.build())
            .map_err(|e| format!("no DNS resolver: {e}"));
        SystemResolver { resolver }
    }

    /// One name server at `server` (UDP, with TCP when an answer is truncated).
    pub fn with_name_server(server: SocketAddr) -> Self {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
            server.ip(),
            true,
            vec![udp, tcp],
        )]);
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options(ResolverOpts::default()))
            .build()
            .map_err(|e| format!("no DNS resolver: {e}"));
        SystemResolver { resolver }
    }
}

impl Default for SystemResolver {
    fn default() -> Self {
        Self::new()
    }
}

fn options(mut opts: ResolverOpts) -> ResolverOpts {
    opts.timeout = TIMEOUT;
    opts.attempts = ATTEMPTS;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.cache_size = 256;
    opts
}

#[async_trait::async_trait]
impl TxtLookup for SystemResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let failed = |why: String| DnsError::Failed {
            name: name.to_owned(),
            why,
        };
        let resolver = self.resolver.as_ref().map_err(|e| failed(e.clone()))?;
        // Fully qualified: no search domain is appended.
        match resolver.txt_lookup(format!("{name}.")).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s))
                            .collect::<String>(),
                    ),
                    _ => None, // e.g. a CNAME on the way
                })
                .collect()),
            Err(e) if e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(failed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Answers from a table; a name marked `FAIL` fails, any other is absent.
    struct FakeDns(HashMap<&'static str, Vec<&'static str>>);

    #[async_trait::async_trait]
    impl TxtLookup for FakeDns {
        async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
            match self.0.get(name) {
                Some(records) if records == &["FAIL"] => Err(DnsError::Failed {
                    name: name.into(),
                    why: "SERVFAIL".into(),
                }),
                Some(records) => Ok(records.iter().map(|r| r.to_string()).collect()),
                None => Ok(Vec::new()),
            }
        }
    }

    fn dns(entries: &[(&'static str, &[&'static str])]) -> FakeDns {
        FakeDns(entries.iter().map(|(k, v)| (*k, v.to_vec())).collect())
    }

    #[test]
    fn a_record_is_read_as_rfc_7489_says() {
        assert_eq!(
            parse_record("v=DMARC1; p=Reject; sp=none; rua=mailto:d@acme.example"),
            Some(DmarcRecord {
                policy: Policy::Reject,
                subdomain_policy: Some(Policy::None)
            })
        );
        assert_eq!(parse_record("v=spf1 -all"), None);
        assert_eq!(parse_record("p=reject; v=DMARC1"), None, "v= comes first");
        assert_eq!(
            parse_record("v=DMARC1; rua=mailto:x@y").map(|r| r.policy),
            Some(Policy::None)
        );
        assert_eq!(
            parse_record("v=DMARC1;p=bogus").map(|r| r.policy),
            Some(Policy::None)
        );
        // Two DMARC records: receivers apply none.
        assert_eq!(
            dmarc_record(&["v=DMARC1; p=reject".into(), "v=DMARC1; p=none".into()]),
            None
        );
        assert_eq!(
            dmarc_record(&["v=spf1 -all".into(), "v=DMARC1;p=quarantine;pct=50".into()])
                .map(|r| r.policy),
            Some(Policy::Quarantine)
        );
    }

    #[test]
    fn the_organizational_domain_comes_from_the_public_suffix_list() {
        assert_eq!(organizational_domain("mail.acme.co.uk"), Some("acme.co.uk"));
        assert_eq!(organizational_domain("acme.com"), Some("acme.com"));
        assert_eq!(
            organizational_domain("a.b.acme.example"),
            Some("acme.example")
        );
        assert_eq!(organizational_domain("co.uk"), None);
    }

    /// Asserts the policy `applicable_policy` finds for each domain.
    async fn assert_policies(d: &FakeDns, expected: &[(&str, Policy)]) {
        for (domain, policy) in expected {
            assert_eq!(
                applicable_policy(d, domain).await,
                Ok(*policy),
                "the policy of {domain}"
            );
        }
    }

    #[tokio::test]
    async fn a_subdomain_of_a_reject_domain_is_strict() {
        // no record at the subdomain; the organizational domain's p=reject applies.
        let d = dns(&[("_dmarc.acme.example", &["v=DMARC1; p=reject"])]);
        let expected = [
            ("mail.acme.example", Policy::Reject),
            ("Mail.Acme.Example.", Policy::Reject),
        ];
        assert_policies(&d, &expected).await;
    }

    #[tokio::test]
    async fn sp_governs_subdomains_and_the_domains_own_record_wins() {
        let d = dns(&[
            ("_dmarc.acme.example", &["v=DMARC1; p=reject; sp=none"]),
            ("_dmarc.strict.lax.example", &["v=DMARC1; p=quarantine"]),
            ("_dmarc.lax.example", &["v=DMARC1; p=none; sp=reject"]),
        ]);
        let expected = [
            ("acme.example", Policy::Reject),
            ("mail.acme.example", Policy::None),
            ("lax.example", Policy::None),
            ("news.lax.example", Policy::Reject),
            ("strict.lax.example", Policy::Quarantine),
            ("other.example", Policy::None),
        ];
        assert_policies(&d, &expected).await;
    }

    #[tokio::test]
    async fn a_failed_lookup_is_never_no_policy() {
        // fail closed, at the domain or at its organizational domain.
        let d = dns(&[("_dmarc.down.example", &["FAIL"])]);
        assert!(matches!(
            applicable_policy(&d, "down.example").await,
            Err(DnsError::Failed { .. })
        ));
        assert!(matches!(
            applicable_policy(&d, "mail.down.example").await,
            Err(DnsError::Failed { .. })
        ));
        assert!(matches!(
            applicable_policy(&d, "bad..name").await,
            Err(DnsError::BadName(_))
        ));
    }

    mod network {
        //! The hickory adapter against a name server made here.
        use super::super::*;
        use hickory_resolver::proto::op::{Message, ResponseCode};
        use hickory_resolver::proto::rr::rdata::TXT;
        use hickory_resolver::proto::rr::{Name, Record};
        use tokio::net::UdpSocket;

        /// Answers every query on a local UDP socket the way `answer` says.
        async fn name_server(
            answer: fn(&Message) -> Message,
        ) -> (SocketAddr, tokio::task::JoinHandle<()>) {
            let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a socket");
            let address = socket.local_addr().expect("its address");
            let task = tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                    let Ok(query) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    let reply = answer(&query).to_vec().expect("encoded");
                    let _ = socket.send_to(&reply, from).await;
                }
            });
            (address, task)
        }

        fn reply(query: &Message, code: ResponseCode) -> Message {
            let mut m = Message::response(query.metadata.id, query.metadata.op_code);
            m.metadata.response_code = code;
            m.metadata.recursion_desired = true;
            m.metadata.recursion_available = true;
            m.add_queries(query.queries.clone());
            m
        }

        fn dmarc(query: &Message) -> Message {
            let mut m = reply(query, ResponseCode::NoError);
            let name: Name = query.queries[0].name().clone();
            m.add_answer(Record::from_rdata(
                name,
                300,
                RData::TXT(TXT::new(vec!["v=DMARC1; ".into(), "p=reject".into()])),
            ));
            m
        }

        #[tokio::test]
        async fn records_nxdomain_and_failures_are_told_apart() {
            let (server, task) = name_server(dmarc).await;
            let records = SystemResolver::with_name_server(server)
                .txt("_dmarc.acme.example")
                .await;
            assert_eq!(records, Ok(vec!["v=DMARC1; p=reject".to_owned()]));
            task.abort();

            let (server, task) = name_server(|q| reply(q, ResponseCode::NXDomain)).await;
            let records = SystemResolver::with_name_server(server)
                .txt("_dmarc.acme.example")
                .await;
            assert_eq!(records, Ok(vec![]));
            task.abort();

            let (server, task) = name_server(|q| reply(q, ResponseCode::ServFail)).await;
            let failed = SystemResolver::with_name_server(server)
                .txt("_dmarc.acme.example")
                .await;
            assert!(matches!(failed, Err(DnsError::Failed { .. })), "{failed:?}");
            task.abort();

            // Truncated, and no TCP answer to fall back on: nothing is known.
            let (server, task) = name_server(|q| {
                let mut m = dmarc(q);
                m.metadata.truncation = true;
                m
            })
            .await;
            let failed = SystemResolver::with_name_server(server)
                .txt("_dmarc.acme.example")
                .await;
            assert!(matches!(failed, Err(DnsError::Failed { .. })), "{failed:?}");
            task.abort();
        }
    }
}
