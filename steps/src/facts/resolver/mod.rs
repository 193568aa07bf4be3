//! DNS lookups for the deliverability checks (preflight warnings, `mailstead check`, and
//! whatever compares published records with the expected ones).
//!
//! - [`Resolve`]: the lookups checks need (A, AAAA, MX, TXT, PTR, SRV, CAA), each returning an
//!   [`Answer`] that tells "the name does not exist" (NXDOMAIN, RFC 1035 §4.1.1 RCODE 3) and
//!   "the name exists, without records of that type" (NODATA, RFC 2308 §2.2) apart from "DNS did
//!   not answer" (timeout, SERVFAIL, refused, no nameserver): a check says "could not check",
//!   never "missing", for the last.
//! - [`Hickory`]: the real resolver (hickory-resolver), asking the nameservers of the system's
//!   `/etc/resolv.conf` (inside `--root` when one is given), or the one server named by the
//!   environment variable `MAILSTEAD_RESOLVER=IP[:PORT]` (port 53 by default; tests and the
//!   bed use it). Each query: 2 s timeout, 2 attempts, no cache beyond one lookup, no
//!   /etc/hosts (what the world sees, not what this server believes).
//! - [`Fake`] (tests, and anyone wanting canned DNS): answers from a table.
//! - [`Dns`]: the fact steps and checks read (`ctx.fact::<Dns>()`), holding the resolver of the
//!   run, or why there is none. Tests put a fake in with `ctx.facts.insert(Dns::with(..))`.
use color_eyre::eyre::Result;
use mailstead_engine::{Fact, Host};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable naming the one DNS server to ask, `IP` or `IP:PORT`
/// (`[IPv6]:PORT`).
pub const RESOLVER_ENV: &str = "MAILSTEAD_RESOLVER";
/// Per query attempt.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per query (per nameserver).
pub const ATTEMPTS: usize = 2;

/// The record types [`Resolve::lookup`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    A,
    Aaaa,
    Mx,
    Txt,
    Ptr,
    Srv,
    Caa,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::A => "A",
            Kind::Aaaa => "AAAA",
            Kind::Mx => "MX",
            Kind::Txt => "TXT",
            Kind::Ptr => "PTR",
            Kind::Srv => "SRV",
            Kind::Caa => "CAA",
        })
    }
}

/// An MX record (RFC 1035 §3.3.9, RFC 5321 §5.1): lower preference is tried first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mx {
    pub preference: u16,
    /// Lowercase, without the trailing dot.
    pub exchange: String,
}

/// An SRV record (RFC 2782), e.g. `_submission._tcp` (RFC 6186).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Lowercase, without the trailing dot (`.` alone means "no service", RFC 2782).
    pub target: String,
}

/// A CAA record (RFC 8659): `flags tag "value"`, e.g. `0 issue "letsencrypt.org"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Caa {
    /// The issuer-critical flag (bit 0 of the flags octet, value 128).
    pub critical: bool,
    /// `issue`, `issuewild`, `iodef`, ... (lowercase).
    pub tag: String,
    /// The value as published (for `issue`: the issuer domain and any parameters).
    pub value: String,
}

/// One record of an answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Record {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx(Mx),
    /// The record's character-strings joined without separator (RFC 7208 §3.3: how SPF,
    /// DKIM and DMARC read a TXT record split in 255-octet strings).
    Txt(String),
    /// Lowercase, without the trailing dot.
    Ptr(String),
    Srv(Srv),
    Caa(Caa),
}

/// What DNS said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// The records (never empty).
    Found(Vec<T>),
    /// NXDOMAIN: the name does not exist at all.
    NxDomain,
    /// NODATA: the name exists but has no record of this type.
    NoRecords,
    /// No usable answer (timeout, SERVFAIL, REFUSED, no nameserver): nothing is known; the
    /// text says what happened, for "could not check" messages.
    Unavailable(String),
}

impl<T> Answer<T> {
    /// The records; empty for NXDOMAIN and NODATA; `Err` (what happened) when DNS did not
    /// answer.
    pub fn records(self) -> std::result::Result<Vec<T>, String> {
        match self {
            Answer::Found(v) => Ok(v),
            Answer::NxDomain | Answer::NoRecords => Ok(Vec::new()),
            Answer::Unavailable(why) => Err(why),
        }
    }

    /// DNS answered (with records or a definite "none").
    pub fn answered(&self) -> bool {
        !matches!(self, Answer::Unavailable(_))
    }

    pub fn map<U>(self, f: impl FnMut(T) -> Option<U>) -> Answer<U> {
        match self {
            Answer::Found(v) => {
                let v: Vec<U> = v.into_iter().filter_map(f).collect();
                if v.is_empty() {
                    Answer::NoRecords
                } else {
                    Answer::Found(v)
                }
            }
            Answer::NxDomain => Answer::NxDomain,
            Answer::NoRecords => Answer::NoRecords,
            Answer::Unavailable(w) => Answer::Unavailable(w),
        }
    }
}

/// `1.2.3.4` → `4.3.2.1.in-addr.arpa`; IPv6 → its nibbles under `ip6.arpa` (RFC 3596 §2.5).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s + "ip6.arpa"
        }
    }
}

/// Lowercase and without the trailing dot: how names are compared.
pub fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl std::fmt::Debug for dyn Resolve + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Resolve({})", self.servers())
    }
}

/// DNS lookups. Implement [`Resolve::lookup`]; the typed helpers derive from it.
pub trait Resolve: Send + Sync {
    /// Records of `kind` at `name` (absolute; a trailing dot is optional). For [`Kind::Ptr`]
    /// the name is the reverse name ([`Resolve::ptr`] builds it).
    fn lookup(&self, name: &str, kind: Kind) -> Answer<Record>;

    /// The server(s) asked, for messages ("10.0.0.1:53").
    fn servers(&self) -> String;

    /// Whether results drawn from this resolver may be reused for a short while within the
    /// process (a real DNS: its answers do not change between an install's plan and apply).
    /// Fakes say no, so tests never see each other's answers.
    fn reusable(&self) -> bool {
        false
    }

    fn a(&self, name: &str) -> Answer<Ipv4Addr> {
        self.lookup(name, Kind::A).map(|r| match r {
            Record::A(a) => Some(a),
            _ => None,
        })
    }
    fn aaaa(&self, name: &str) -> Answer<Ipv6Addr> {
        self.lookup(name, Kind::Aaaa).map(|r| match r {
            Record::Aaaa(a) => Some(a),
            _ => None,
        })
    }
    /// A and AAAA together: `Found` when either has records; `Unavailable` when either did
    /// not answer and none were found; NXDOMAIN only when the A query said so.
    fn ips(&self, name: &str) -> Answer<IpAddr> {
        let a = self.a(name);
        let aaaa = self.aaaa(name);
        let mut found: Vec<IpAddr> = Vec::new();
        if let Answer::Found(v) = &a {
            found.extend(v.iter().copied().map(IpAddr::V4));
        }
        if let Answer::Found(v) = &aaaa {
            found.extend(v.iter().copied().map(IpAddr::V6));
        }
        match (a, aaaa) {
            _ if !found.is_empty() => Answer::Found(found),
            (Answer::Unavailable(w), _) | (_, Answer::Unavailable(w)) => Answer::Unavailable(w),
            (Answer::NxDomain, _) => Answer::NxDomain,
            _ => Answer::NoRecords,
        }
    }
    /// MX records, lowest preference first.
    fn mx(&self, name: &str) -> Answer<Mx> {
        let mut a = self.lookup(name, Kind::Mx).map(|r| match r {
            Record::Mx(m) => Some(m),
            _ => None,
        });
        if let Answer::Found(v) = &mut a {
            v.sort();
        }
        a
    }
    /// TXT records, each one's character-strings joined.
    fn txt(&self, name: &str) -> Answer<String> {
        self.lookup(name, Kind::Txt).map(|r| match r {
            Record::Txt(t) => Some(t),
            _ => None,
        })
    }
    /// The PTR names of an address (reverse DNS).
    fn ptr(&self, ip: IpAddr) -> Answer<String> {
        self.lookup(&reverse_name(ip), Kind::Ptr).map(|r| match r {
            Record::Ptr(p) => Some(p),
            _ => None,
        })
    }
    fn srv(&self, name: &str) -> Answer<Srv> {
        self.lookup(name, Kind::Srv).map(|r| match r {
            Record::Srv(s) => Some(s),
            _ => None,
        })
    }
    fn caa(&self, name: &str) -> Answer<Caa> {
        self.lookup(name, Kind::Caa).map(|r| match r {
            Record::Caa(c) => Some(c),
            _ => None,
        })
    }
}

// ---------------------------------------------------------------- the real one

/// hickory-resolver behind the blocking [`Resolve`] API: each lookup runs on a
/// current-thread tokio runtime owned by this value.
pub struct Hickory {
    resolver: hickory_resolver::TokioResolver,
    runtime: tokio::runtime::Runtime,
    servers: Vec<SocketAddr>,
    /// Whether any server answers at all, asked once ([`reachable`]) before the first lookup.
    reachable: std::sync::OnceLock<std::result::Result<(), String>>,
}

/// Whether any of `servers` answers a DNS query at all (any response, even an error, counts):
/// one query for the root's NS over a *connected* UDP socket, so an ICMP "port unreachable"
/// ends it at once (hickory's unconnected sockets never see it and wait for the timeout), or
/// [`TIMEOUT`] × [`ATTEMPTS`] when packets vanish. Without it a server with no DNS would wait
/// out every single lookup.
pub fn reachable(servers: &[SocketAddr]) -> std::result::Result<(), String> {
    use hickory_resolver::proto::op::{Message, Query};
    use hickory_resolver::proto::rr::{Name, RecordType};
    let mut m = Message::new();
    m.set_id(std::process::id() as u16)
        .set_recursion_desired(true)
        .add_query(Query::query(Name::root(), RecordType::NS));
    let query = m.to_vec().map_err(|e| e.to_string())?;
    let mut why = Vec::new();
    for s in servers {
        let bind = if s.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let sock = match std::net::UdpSocket::bind(bind) {
            Ok(sock) => sock,
            Err(e) => {
                why.push(format!("{s}: {e}"));
                continue;
            }
        };
        let setup = sock
            .connect(s)
            .and_then(|_| sock.set_read_timeout(Some(TIMEOUT)));
        if let Err(e) = setup {
            why.push(format!("{s}: {e}"));
            continue;
        }
        let mut buf = [0u8; 4096];
        let mut failed = format!(
            "{s}: no answer within {} s",
            TIMEOUT.as_secs() * ATTEMPTS as u64
        );
        for _ in 0..ATTEMPTS {
            if let Err(e) = sock.send(&query) {
                failed = format!("{s}: {e}");
                break;
            }
            match sock.recv(&mut buf) {
                Ok(_) => return Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    failed = format!("{s}: {e}");
                    break;
                }
            }
        }
        why.push(failed);
    }
    Err(format!("no DNS server answers ({})", why.join("; ")))
}

impl Hickory {
    /// A resolver asking `servers` (UDP, then TCP for truncated answers), in order.
    pub fn new(servers: &[SocketAddr]) -> std::io::Result<Hickory> {
        use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
        use hickory_resolver::proto::xfer::Protocol;
        let mut config = ResolverConfig::new();
        for s in servers {
            config.add_name_server(NameServerConfig::new(*s, Protocol::Udp));
            config.add_name_server(NameServerConfig::new(*s, Protocol::Tcp));
        }
        let mut opts = ResolverOpts::default();
        opts.timeout = TIMEOUT;
        opts.attempts = ATTEMPTS;
        // One lookup per question per run; nothing outlives the process anyway.
        opts.cache_size = 0;
        opts.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        // Names are asked as given (absolute), never with the search domains appended.
        opts.ndots = 0;
        // Prefer to keep going on SERVFAIL with the next server.
        opts.server_ordering_strategy =
            hickory_resolver::config::ServerOrderingStrategy::UserProvidedOrder;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let resolver = {
            let _guard = runtime.enter();
            hickory_resolver::Resolver::builder_with_config(
                config,
                hickory_resolver::name_server::TokioConnectionProvider::default(),
            )
            .with_options(opts)
            .build()
        };
        Ok(Hickory {
            resolver,
            runtime,
            servers: servers.to_vec(),
            reachable: std::sync::OnceLock::new(),
        })
    }
}

fn absolute(name: &str) -> String {
    let n = name.trim();
    if n.ends_with('.') {
        n.to_string()
    } else {
        format!("{n}.")
    }
}

/// Our record from hickory's, when it is of a kind we read.
fn convert(rdata: &hickory_resolver::proto::rr::RData) -> Option<Record> {
    use hickory_resolver::proto::rr::RData;
    Some(match rdata {
        RData::A(a) => Record::A(a.0),
        RData::AAAA(a) => Record::Aaaa(a.0),
        RData::MX(m) => Record::Mx(Mx {
            preference: m.preference(),
            exchange: normalize(&m.exchange().to_ascii()),
        }),
        RData::TXT(t) => Record::Txt(
            t.txt_data()
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        RData::PTR(p) => Record::Ptr(normalize(&p.0.to_ascii())),
        RData::SRV(s) => Record::Srv(Srv {
            priority: s.priority(),
            weight: s.weight(),
            port: s.port(),
            target: normalize(&s.target().to_ascii()),
        }),
        RData::CAA(c) => Record::Caa(Caa {
            critical: c.issuer_critical(),
            tag: c.tag().as_str().to_ascii_lowercase(),
            value: caa_value(c),
        }),
        _ => return None,
    })
}

/// A CAA value as published (the octets after the tag, RFC 8659 §4.1), without quotes.
fn caa_value(c: &hickory_resolver::proto::rr::rdata::CAA) -> String {
    String::from_utf8_lossy(c.raw_value()).into_owned()
}

impl Resolve for Hickory {
    fn lookup(&self, name: &str, kind: Kind) -> Answer<Record> {
        use hickory_resolver::proto::op::ResponseCode;
        use hickory_resolver::proto::rr::RecordType;
        use hickory_resolver::proto::ProtoErrorKind;
        let rtype = match kind {
            Kind::A => RecordType::A,
            Kind::Aaaa => RecordType::AAAA,
            Kind::Mx => RecordType::MX,
            Kind::Txt => RecordType::TXT,
            Kind::Ptr => RecordType::PTR,
            Kind::Srv => RecordType::SRV,
            Kind::Caa => RecordType::CAA,
        };
        if let Err(why) = self.reachable.get_or_init(|| reachable(&self.servers)) {
            return Answer::Unavailable(why.clone());
        }
        let fqdn = absolute(name);
        match self
            .runtime
            .block_on(self.resolver.lookup(fqdn.as_str(), rtype))
        {
            Ok(lookup) => {
                let mut v: Vec<Record> = lookup
                    .record_iter()
                    .filter(|r| r.record_type() == rtype)
                    .filter_map(|r| convert(r.data()))
                    .collect();
                v.sort();
                v.dedup();
                if v.is_empty() {
                    Answer::NoRecords
                } else {
                    Answer::Found(v)
                }
            }
            Err(e) => match e.proto().map(|p| p.kind()) {
                Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => {
                    match *response_code {
                        ResponseCode::NXDomain => Answer::NxDomain,
                        ResponseCode::NoError => Answer::NoRecords,
                        other => Answer::Unavailable(format!(
                            "{} answered {other} for {name} {kind}",
                            self.servers()
                        )),
                    }
                }
                Some(ProtoErrorKind::Timeout) => Answer::Unavailable(format!(
                    "no answer from {} for {name} {kind} within {} s",
                    self.servers(),
                    TIMEOUT.as_secs() * ATTEMPTS as u64
                )),
                _ => Answer::Unavailable(format!(
                    "asking {} for {name} {kind} failed: {e}",
                    self.servers()
                )),
            },
        }
    }

    fn reusable(&self) -> bool {
        true
    }

    fn servers(&self) -> String {
        self.servers
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53 when none).
pub fn parse_server(text: &str) -> Option<SocketAddr> {
    let t = text.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Some(sa);
    }
    t.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

/// The `nameserver` lines of a resolv.conf(5), port 53.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "nameserver").then_some(())?;
            // A scoped link-local address (fe80::1%eth0) keeps its scope out of the parse.
            let ip = w.next()?.split('%').next()?.parse::<IpAddr>().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

// ---------------------------------------------------------------- a fake

/// Canned DNS: `(name, kind)` → answer; anything else is NXDOMAIN (or, with
/// [`Fake::silent`], no answer at all).
#[derive(Debug, Clone, Default)]
pub struct Fake {
    pub table: BTreeMap<(String, Kind), Answer<Record>>,
    /// Answer `Unavailable` for names not in the table (a DNS that does not answer).
    pub silent: bool,
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }
    /// A DNS that answers nothing.
    pub fn silent() -> Fake {
        Fake {
            table: BTreeMap::new(),
            silent: true,
        }
    }
    /// Adds a record to `name`'s answer of the record's kind.
    pub fn with(mut self, name: &str, record: Record) -> Fake {
        let kind = match &record {
            Record::A(_) => Kind::A,
            Record::Aaaa(_) => Kind::Aaaa,
            Record::Mx(_) => Kind::Mx,
            Record::Txt(_) => Kind::Txt,
            Record::Ptr(_) => Kind::Ptr,
            Record::Srv(_) => Kind::Srv,
            Record::Caa(_) => Kind::Caa,
        };
        let e = self
            .table
            .entry((normalize(name), kind))
            .or_insert(Answer::Found(Vec::new()));
        if let Answer::Found(v) = e {
            v.push(record);
        } else {
            *e = Answer::Found(vec![record]);
        }
        self
    }
    /// `ip`'s reverse name points at `name`.
    pub fn with_ptr(self, ip: &str, name: &str) -> Fake {
        let ip: IpAddr = ip.parse().expect("an IP address");
        self.with(&reverse_name(ip), Record::Ptr(normalize(name)))
    }
    /// Sets the answer for `(name, kind)` (NODATA, unavailable, ...).
    pub fn with_answer(mut self, name: &str, kind: Kind, answer: Answer<Record>) -> Fake {
        self.table.insert((normalize(name), kind), answer);
        self
    }
    pub fn with_ip(self, name: &str, ip: &str) -> Fake {
        match ip.parse::<IpAddr>().expect("an IP address") {
            IpAddr::V4(v4) => self.with(name, Record::A(v4)),
            IpAddr::V6(v6) => self.with(name, Record::Aaaa(v6)),
        }
    }
}

impl Resolve for Fake {
    fn lookup(&self, name: &str, kind: Kind) -> Answer<Record> {
        let name = normalize(name);
        if let Some(a) = self.table.get(&(name.clone(), kind)) {
            return a.clone();
        }
        if self.silent {
            return Answer::Unavailable(format!("no answer from the fake DNS for {name} {kind}"));
        }
        // NODATA when the name has records of another kind.
        if self.table.keys().any(|(n, _)| *n == name) {
            Answer::NoRecords
        } else {
            Answer::NxDomain
        }
    }
    fn servers(&self) -> String {
        "the fake DNS".into()
    }
}

// ---------------------------------------------------------------- the fact

/// The run's resolver, or why there is none (no nameserver configured, a bad
/// `MAILSTEAD_RESOLVER`).
#[derive(Clone)]
pub struct Dns {
    resolver: std::result::Result<Arc<dyn Resolve>, String>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.resolver {
            Ok(r) => write!(f, "Dns({})", r.servers()),
            Err(e) => write!(f, "Dns(none: {e})"),
        }
    }
}

impl Dns {
    /// A fact holding `resolver` (tests: `ctx.facts.insert(Dns::with(Fake::new()...))`).
    pub fn with(resolver: impl Resolve + 'static) -> Dns {
        Dns {
            resolver: Ok(Arc::new(resolver)),
        }
    }
    /// No resolver, for `why`.
    pub fn none(why: impl Into<String>) -> Dns {
        Dns {
            resolver: Err(why.into()),
        }
    }
    /// The resolver, or why there is none (for "could not check" messages).
    pub fn resolver(&self) -> std::result::Result<&dyn Resolve, &str> {
        match &self.resolver {
            Ok(r) => Ok(r.as_ref()),
            Err(e) => Err(e.as_str()),
        }
    }

    /// From `MAILSTEAD_RESOLVER` when set, else the host's `/etc/resolv.conf` text.
    pub fn from_config(env: Option<&str>, resolv_conf: Option<&str>) -> Dns {
        let servers = match env.filter(|e| !e.trim().is_empty()) {
            Some(e) => match parse_server(e) {
                Some(s) => vec![s],
                None => {
                    return Dns::none(format!(
                        "{RESOLVER_ENV}={e} is not IP or IP:PORT (e.g. 10.0.0.1 or 10.0.0.1:5353)"
                    ))
                }
            },
            None => match resolv_conf {
                None => return Dns::none("/etc/resolv.conf is missing: no nameserver to ask"),
                Some(t) => parse_resolv_conf(t),
            },
        };
        if servers.is_empty() {
            return Dns::none("/etc/resolv.conf names no nameserver");
        }
        match Hickory::new(&servers) {
            Ok(h) => Dns::with(h),
            Err(e) => Dns::none(format!("cannot start a DNS resolver: {e}")),
        }
    }
}

impl Fact for Dns {
    /// Read once per run; a changed resolv.conf is read again.
    const READS: &'static [&'static str] = &["/etc/resolv.conf"];
    fn probe(host: &dyn Host) -> Result<Self> {
        let env = std::env::var(RESOLVER_ENV).ok();
        let conf = host
            .read_string(Path::new("/etc/resolv.conf"))
            .ok()
            .flatten();
        Ok(Dns::from_config(env.as_deref(), conf.as_deref()))
    }
}

#[cfg(test)]
mod tests;
