//! `mailstead dns [DOMAIN] [--format zone|table|json]`: the records to publish
//! (steps/src/dns.rs builds and renders them); prints, changes nothing.
use super::flags;
use super::run::dns_published;
use super::session::Session;
use crate::error::{self, CliError, CliResult};
use crate::exit;
use crate::ui::{self, out};

/// Print the DNS records to publish; reads only
///
/// Every record to publish for the mail domains (MX, SPF, DKIM, DMARC, TLS-RPT, SRV, the
/// hostname's A/AAAA and CAA), and the reverse DNS to ask the provider for.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead dns                          every domain, for reading
  mailstead dns example.org --format zone
                                         zone-file lines to paste into a zone
  mailstead dns --format json            for scripts: {records, ptr, notes}")]
pub struct Args {
    /// Only this mail domain's records (and the server's own, which every domain needs)
    /// [default: every configured domain].
    #[arg(value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// zone: RFC 1035 zone-file lines (long TXT split into 255-byte strings);
    /// table: for reading (values whole on one line, for web forms);
    /// json: for scripts.
    #[arg(long, value_enum, default_value_t = DnsFormat::Table)]
    pub format: DnsFormat,
    #[command(flatten)]
    pub config: flags::Config,
}

/// How `mailstead dns` prints the records.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsFormat {
    Zone,
    Table,
    Json,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    let (domain, format) = (args.domain.as_deref(), args.format);
    let answers = s.load_answers()?;
    let all = dns_published(s, &answers);
    let p = match domain {
        None => all,
        Some(d) => all.for_domain(d).ok_or_else(|| {
            CliError::bad_input(format!(
                "DOMAIN: {d:?} is not a configured mail domain (configured: {})",
                answers
                    .domains
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_fix(format!(
                "name one of them, or add it first: `mailstead add-domain {d}`"
            ))
        })?,
    };
    if format != DnsFormat::Table {
        for d in &p.missing_dkim {
            error::warn(format_args!(
                "{d}: no DKIM key yet, so its DKIM record is left out (run `mailstead install`)"
            ));
        }
    }
    match format {
        // For people: symbols as the terminal can show them.
        DnsFormat::Table => out::text(&mailstead_steps::dns::render_table(&p, ui::dns_width())),
        // For programs and zone files: byte for byte.
        DnsFormat::Zone => {
            let _ = out::data(mailstead_steps::dns::render_zone(&p).as_bytes());
        }
        DnsFormat::Json => {
            let _ = out::data(mailstead_steps::dns::render_json(&p).as_bytes());
        }
    }
    Ok(exit::DONE)
}
