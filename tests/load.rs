//! Nothing lost (issue 22, items 1-3): a load from outside, a power cut in the middle of one,
//! and a clean reboot, on a fork of the installed bed of each release.
//!
//! - **The load**: `bed/smtp-load.py` on the host sends `MAILSTEAD_LOAD_MESSAGES` messages to
//!   port 25 (6 connections at once, 1-3 of four mailboxes each, sizes from 1 KB to 400 KB, one
//!   in 50 also to an unknown mailbox or an outside address) and, at the same time,
//!   `MAILSTEAD_LOAD_SUBMISSIONS` through 587 (STARTTLS, AUTH as each of the four, some to the
//!   outside server) with rspamd on. Then every message is counted where it ended: the
//!   mailboxes (Dovecot's `doveadm search`, and each Maildir file read whole: its body's length
//!   and SHA-256 against what was sent), the outside server (the bed's sink), the queue
//!   (`postqueue -j`), the refusals (the SMTP replies, by reason). Asserted: every message the
//!   server took (250 after DATA) is in its recipients' mailboxes or at the outside server, or
//!   still queued, exactly once: lost = 0, duplicated = 0, truncated = 0, nothing refused was
//!   delivered. Printed (a benchmark, never asserted): messages/s and the stack's memory (PSS
//!   of Postfix, Dovecot, rspamd, Redis) idle and at the peak.
//! - **The power cut**: a smaller load running, a fail2ban ban in place and `mailstead
//!   add-domain` stopped in its `mailboxes` step (a failpoint), the bed's PID 1 is killed
//!   (`bed reboot --power-cut`) and the same root boots again. Then: every service up by itself
//!   (Postfix, Dovecot, rspamd, Redis, fail2ban with the ban and its firewall rule, ufw's rules,
//!   the certificate timer), the count again over both loads (lost = 0 for what was accepted
//!   before the cut; the queue drains; no truncated message; a second copy only of a delivery
//!   in flight at the cut, see [`count`]), `check` names the interrupted
//!   run, and the next `install` recovers it (the domain is gone again).
//! - **A clean reboot** (`bed reboot`): every service up and configured (`check` passes), mail
//!   delivered and read.
//!
//! Run as root by `tests/run` (`cargo test --test load -- --ignored --test-threads=1`).
use mailstead_bed as bed;

use bed::{Bed, ALICE_PASSWORD, MAILSTEAD_IN_BED};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MAILBOXES: [&str; 4] = [
    "alice@example.test",
    "bob@example.test",
    "carol@example.test",
    "dave@example.test",
];
const OUTSIDE: [&str; 2] = ["ext1@outside.test", "ext2@outside.test"];
/// Refused at RCPT (unknown mailbox; relay from outside without AUTH): the refusals counted.
const ODD: [&str; 2] = ["nobody@example.test", "someone@outside.test"];

fn env_count(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Four mailboxes with one password, a sending limit no load reaches (an admin with a bulk
/// sender raises it the same way), outside.test's MX the sink on the host end.
fn setup(bed: &Bed) -> PathBuf {
    let mut yaml = String::from(
        "hostname: mail.example.test\nadmin_email: admin@example.test\nmax_messages_per_hour: 100000\n\
         domains:\n  - name: example.test\n    mailboxes:\n",
    );
    for m in MAILBOXES {
        yaml += &format!("      - address: {m}\n        password: \"{ALICE_PASSWORD}\"\n");
    }
    yaml += &format!(
        "    aliases:\n      - from: postmaster@example.test\n        to: alice@example.test\n\
         acme:\n  server: {}\n  ca_bundle: /root/pebble-ca.pem\nssh:\n  allow_users: [root]\nfirewall:\n  enabled: true\n",
        bed.acme_url
    );
    bed.write_answers(&yaml);
    let r = bed.mailstead(&["install", "--yes", "--plain"]);
    assert!(r.ok(), "install with the load's mailboxes:\n{}", r.text());
    // Every record mailstead prints, served (`check` passes its DNS checks), and the outside.
    bed.serve_published();
    bed.dns(&[
        "mx-host=outside.test,mx.outside.test,10",
        &format!("address=/mx.outside.test/{}", bed.host_ip),
    ]);
    let sink = bed.sink_up(25, false, None);
    wait_rspamd(bed);
    sink
}

/// rspamd's proxy worker answers (an install or a boot may have just (re)started it).
fn wait_rspamd(bed: &Bed) {
    bed.sh_ok(
        "for i in $(seq 300); do pgrep -f '^rspamd: rspamd_proxy' >/dev/null && exit 0; sleep 0.2; done; exit 1",
    );
}

/// PSS (KiB) of Postfix, Dovecot, rspamd and Redis, and the per-daemon line.
fn stack_pss(bed: &Bed) -> (u64, String) {
    let out = bed.sh_ok(
        r#"for p in /proc/[0-9]*; do
  exe=$(readlink $p/exe 2>/dev/null) || continue
  case "$exe" in
    /usr/bin/rspamd) k=rspamd ;;
    /usr/lib/postfix/*|/usr/sbin/postfix|/usr/sbin/postdrop) k=postfix ;;
    /usr/sbin/dovecot|/usr/lib/dovecot/*) k=dovecot ;;
    /usr/bin/redis-server) k=redis ;;
    *) continue ;;
  esac
  awk -v k=$k '/^Pss:/{print k, $2}' $p/smaps_rollup 2>/dev/null
done | awk '{s[$1]+=$2; S+=$2; n[$1]++}
  END{printf "%d", S; for (k in s) printf " %s=%.0fMiB/%d", k, s[k]/1024, n[k]; print ""}'"#,
    );
    let (total, detail) = out.trim().split_once(' ').unwrap_or((out.trim(), ""));
    (total.parse().unwrap_or(0), detail.to_string())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The load client (bed/smtp-load.py) on the host, not yet waited for.
fn client(bed: &Bed, port: u16, count: usize, tag: &str, out: &Path) -> std::process::Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bed/smtp-load.py");
    let mut cmd = std::process::Command::new("/usr/bin/python3");
    cmd.arg(script).args([
        "--server",
        &bed.ip,
        "--port",
        &port.to_string(),
        "--count",
        &count.to_string(),
        "--tag",
        tag,
        "--out",
        &out.display().to_string(),
    ]);
    if port == 25 {
        cmd.args(["--conns", "6"]);
        for r in MAILBOXES {
            cmd.args(["--rcpt", r]);
        }
        for r in ODD {
            cmd.args(["--odd", r]);
        }
    } else {
        cmd.args(["--conns", "4"]).env("LOAD_PASS", ALICE_PASSWORD);
        for r in MAILBOXES.iter().chain(OUTSIDE.iter()) {
            cmd.args(["--rcpt", r]);
        }
        for l in MAILBOXES {
            cmd.args(["--login", l]);
        }
    }
    cmd.stdin(std::process::Stdio::null())
        .spawn()
        .expect("start bed/smtp-load.py")
}

fn finish(child: std::process::Child, what: &str) {
    let out = child.wait_with_output().expect("wait for the load client");
    assert!(out.status.success(), "the load client ({what}) failed");
}

/// What the clients saw, from their --out files.
#[derive(Default)]
struct Sent {
    messages: usize,
    /// (token, recipient) the server took: 250 at RCPT and after DATA.
    accepted: BTreeSet<(String, String)>,
    accepted_messages: usize,
    /// Tokens refused whole, and every refused recipient, by reason.
    refused: BTreeSet<(String, String)>,
    reasons: BTreeMap<String, usize>,
    /// The connection died after DATA: taken or not, the server alone knows.
    unknown: BTreeSet<String>,
    unsent: usize,
    bytes: usize,
}

/// A refusal's reason without its addresses and queue ids: `RCPT 550 5.1.1 User unknown...`.
fn reason(stage: &str, reply: &str) -> String {
    let mut r = String::new();
    let mut skip = false;
    for c in reply.chars() {
        match c {
            '<' => skip = true,
            '>' => skip = false,
            _ if !skip => r.push(c),
            _ => {}
        }
    }
    let r: String = r.split_whitespace().take(12).collect::<Vec<_>>().join(" ");
    format!("{stage} {r}")
}

fn read_sent(files: &[&Path]) -> Sent {
    let mut s = Sent::default();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("client line");
            let tok = v["tok"].as_str().unwrap_or_default().to_string();
            let status = v["status"].as_str().unwrap_or_default();
            let reply = v["reply"].as_str().unwrap_or_default();
            s.messages += 1;
            s.bytes += v["size"].as_u64().unwrap_or(0) as usize;
            let rcpts = v["rcpts"].as_object().cloned().unwrap_or_default();
            for (r, rep) in &rcpts {
                let rep = rep.as_str().unwrap_or_default();
                if !rep.starts_with("25") {
                    *s.reasons.entry(reason("RCPT", rep)).or_default() += 1;
                    s.refused.insert((tok.clone(), r.clone()));
                }
            }
            let ok: Vec<String> = rcpts
                .iter()
                .filter(|(_, rep)| rep.as_str().is_some_and(|x| x.starts_with("25")))
                .map(|(r, _)| r.clone())
                .collect();
            match status {
                "accepted" => {
                    s.accepted_messages += 1;
                    s.accepted.extend(ok.into_iter().map(|r| (tok.clone(), r)));
                }
                "refused" => {
                    if reply != "RCPT" {
                        *s.reasons
                            .entry(reason("", reply).trim().into())
                            .or_default() += 1;
                    }
                    s.refused.extend(ok.into_iter().map(|r| (tok.clone(), r)));
                }
                "unknown" => {
                    s.unknown.insert(tok);
                }
                _ => s.unsent += 1,
            }
        }
    }
    s
}

/// Every Maildir file of every mailbox read whole (python3 is in the bed: fail2ban's): a line
/// `MSG MAILBOX TOKEN ok|bad:... FOLDER MTIME` per load message (body length and SHA-256 against
/// its X-Load-Body), `TMP MAILBOX PATH` per file left in a `tmp/`.
const MAILDIR_CHECK: &str = r#"
import hashlib, os, re, sys
from email.parser import BytesHeaderParser
root, tag = "/var/mail/vhosts", sys.argv[1]
hp = BytesHeaderParser()
for dom in sorted(os.listdir(root)):
    for user in sorted(os.listdir(os.path.join(root, dom))):
        md = os.path.join(root, dom, user, "Maildir")
        box = "%s@%s" % (user, dom)
        for dirpath, dirs, files in os.walk(md):
            leaf = os.path.basename(dirpath)
            if leaf not in ("cur", "new", "tmp"):
                continue
            folder = os.path.relpath(os.path.dirname(dirpath), md)
            for f in files:
                path = os.path.join(dirpath, f)
                if leaf == "tmp":
                    print("TMP", box, path)
                    continue
                raw = open(path, "rb").read()
                m = re.search(rb"\r?\n\r?\n", raw)
                head = raw if m is None else raw[:m.start()]
                h = hp.parsebytes(head + b"\n\n")
                tok = (h.get("X-Load-Token") or "").strip()
                if not tok.startswith(tag):
                    continue
                body = b"" if m is None else raw[m.end():].replace(b"\r\n", b"\n")
                want = (h.get("X-Load-Body") or "0 -").split()
                ok = len(body) == int(want[0]) and hashlib.sha256(body).hexdigest() == want[1]
                print("MSG", box, tok, "ok" if ok else "bad:%d/%s" % (len(body), want[0]), folder,
                      int(os.stat(path).st_mtime))
"#;

/// Postfix's queue: `(token, recipient, queue, reason)` for each queued recipient.
const QUEUE_LIST: &str = r#"
import json, subprocess, sys
for line in sys.stdin:
    q = json.loads(line)
    h = subprocess.run(["postcat", "-hq", q["queue_id"]], capture_output=True, text=True).stdout
    tok = next((x.split(":", 1)[1].strip() for x in h.splitlines() if x.lower().startswith("x-load-token:")), "-")
    for r in q.get("recipients", []):
        print("Q", tok, r["address"], q["queue_name"], " ".join(r.get("delay_reason", "").split()))
"#;

/// What arrived where.
#[derive(Default)]
struct Arrived {
    /// (token, recipient) -> when each copy was written (Unix seconds), in the mailboxes and
    /// at the outside server.
    found: BTreeMap<(String, String), Vec<u64>>,
    in_mailboxes: usize,
    at_sink: usize,
    truncated: Vec<String>,
    tmp_files: usize,
    /// Junk and other folders than INBOX.
    folders: BTreeMap<String, usize>,
    queued: BTreeMap<(String, String), String>,
    doveadm: BTreeMap<String, usize>,
}

fn arrived(bed: &Bed, sink: &Path, tag: &str) -> Arrived {
    let mut a = Arrived::default();
    let out = bed.exec_stdin(&["python3", "-", tag], MAILDIR_CHECK.as_bytes());
    assert!(out.ok(), "the Maildir check failed:\n{}", out.text());
    let mut per_box: BTreeMap<String, usize> = BTreeMap::new();
    for l in out.stdout.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        match f.as_slice() {
            ["MSG", mbox, tok, verdict, folder, mtime] => {
                a.found
                    .entry((tok.to_string(), mbox.to_string()))
                    .or_default()
                    .push(mtime.parse().unwrap_or(0));
                *per_box.entry(mbox.to_string()).or_default() += 1;
                *a.folders.entry(folder.to_string()).or_default() += 1;
                a.in_mailboxes += 1;
                if *verdict != "ok" {
                    a.truncated.push(format!("{mbox} {tok} {verdict}"));
                }
            }
            ["TMP", ..] => a.tmp_files += 1,
            _ => panic!("Maildir check: {l}"),
        }
    }
    // Dovecot's own count of the same messages, mailbox by mailbox.
    for m in MAILBOXES {
        let n = bed
            .sh_ok(&format!(
                "doveadm search -u {m} mailbox '*' HEADER X-Load-Token {tag} | wc -l"
            ))
            .trim()
            .parse()
            .unwrap_or(0);
        a.doveadm.insert(m.to_string(), n);
    }
    for m in MAILBOXES {
        assert_eq!(
            a.doveadm[m],
            per_box.get(m).copied().unwrap_or(0),
            "{}: Dovecot and the Maildir files disagree on {m}'s messages",
            bed.release
        );
    }
    // The outside server: each .json names the envelope recipients of its .eml.
    if let Ok(rd) = std::fs::read_dir(sink) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let meta: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_default())
                    .unwrap_or_default();
            let eml = std::fs::read(p.with_extension("eml")).unwrap_or_default();
            let written = std::fs::metadata(p.with_extension("eml"))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let head = String::from_utf8_lossy(&eml[..eml.len().min(16384)]).to_string();
            let Some(tok) = head
                .lines()
                .find_map(|l| l.strip_prefix("X-Load-Token: "))
                .map(str::trim)
                .filter(|t| t.starts_with(tag))
            else {
                continue;
            };
            for r in meta["rcpt_tos"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap_or_default().to_string();
                a.found
                    .entry((tok.to_string(), r))
                    .or_default()
                    .push(written);
                a.at_sink += 1;
            }
        }
    }
    let q = bed.sh_ok(&format!(
        "postqueue -j | python3 -c '{}'",
        QUEUE_LIST.replace('\'', "'\\''")
    ));
    for l in q.lines() {
        let mut f = l.splitn(5, ' ');
        let (_, tok, rcpt, queue, why) = (f.next(), f.next(), f.next(), f.next(), f.next());
        a.queued.insert(
            (tok.unwrap_or("-").into(), rcpt.unwrap_or("-").into()),
            format!("{} {}", queue.unwrap_or(""), why.unwrap_or("")),
        );
    }
    a
}

/// Waits until Postfix's queue is empty (at most `secs`); returns the seconds waited.
fn drain(bed: &Bed, secs: u64) -> f64 {
    let t0 = Instant::now();
    let mut flushed = false;
    loop {
        let n: usize = bed
            .sh_ok("postqueue -j | wc -l")
            .trim()
            .parse()
            .unwrap_or(1);
        if n == 0 {
            return t0.elapsed().as_secs_f64();
        }
        let waited = t0.elapsed().as_secs();
        if waited >= secs {
            return t0.elapsed().as_secs_f64();
        }
        // What was deferred (a daemon restarting after a boot) is tried again now, not after
        // Postfix's 5-minute backoff.
        if !flushed && waited >= secs / 2 {
            // Why they wait, before the flush sends them.
            let why = bed.sh_ok(
                "postqueue -j | python3 -c 'import json,sys,collections; c=collections.Counter(\
                 r.get(\"delay_reason\",\"-\")[:120] for l in sys.stdin for r in json.loads(l)[\"recipients\"]); \
                 [print(n, w) for w, n in c.most_common(5)]'",
            );
            println!(
                "{}: {n} queued after {waited} s, flushing; why:\n{why}",
                bed.release
            );
            bed.sh_ok("postqueue -f");
            flushed = true;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The count over the messages of `tag`: prints it, asserts nothing accepted is lost or
/// duplicated, nothing truncated, nothing refused delivered. Returns (lost, queued).
///
/// `cut`: the power cut's window (Unix seconds, from before `bed reboot` to its end). A
/// delivery in flight then may be made twice: the mailbox (or the outside server) had the
/// message, Postfix had not yet recorded it done, and delivers it again after the boot
/// (SMTP's and LMTP's window between the data and the reply, RFC 1047). Such a pair, two
/// copies, one written before the cut's end and one after its start, is counted apart
/// ("again after the cut"); any other duplicate fails.
fn count(
    bed: &Bed,
    sink: &Path,
    tag: &str,
    sent: &Sent,
    cut: Option<(u64, u64)>,
) -> (usize, usize) {
    let r = &bed.release;
    let a = arrived(bed, sink, tag);
    let lost: Vec<&(String, String)> = sent
        .accepted
        .iter()
        .filter(|k| !a.found.contains_key(*k) && !a.queued.contains_key(*k))
        .collect();
    let in_flight = |times: &Vec<u64>| {
        let (lo, hi) = (times.iter().min(), times.iter().max());
        matches!((cut, lo, hi), (Some((start, end)), Some(lo), Some(hi))
            if times.len() == 2 && *lo <= end && *hi >= start)
    };
    let again: Vec<&(String, String)> = a
        .found
        .iter()
        .filter(|(_, t)| t.len() > 1 && in_flight(t))
        .map(|(k, _)| k)
        .collect();
    let duplicated: Vec<(&(String, String), &Vec<u64>)> = a
        .found
        .iter()
        .filter(|(_, t)| t.len() > 1 && !in_flight(t))
        .collect();
    let refused_delivered: Vec<&(String, String)> = a
        .found
        .keys()
        .filter(|k| sent.refused.contains(*k))
        .collect();
    let unexpected: Vec<&(String, String)> = a
        .found
        .keys()
        .filter(|k| !sent.accepted.contains(*k) && !sent.unknown.contains(&k.0))
        .collect();
    let unknown_delivered = sent
        .unknown
        .iter()
        .filter(|t| a.found.keys().any(|k| &k.0 == *t))
        .count();
    let queued = a.queued.keys().filter(|k| k.0.starts_with(tag)).count();
    println!(
        "count {r} {tag}: sent {} messages ({:.1} MiB), accepted {} for {} recipients, refused {} \
         recipients or messages, unknown {} (connection lost after DATA; {} of them delivered), unsent {}; \
         in the mailboxes {} (Dovecot: {:?}; folders {:?}; tmp files {}), at the outside server {}, \
         queued {}; lost {}, duplicated {} (and {} delivered again after the cut), truncated {}",
        sent.messages,
        sent.bytes as f64 / 1048576.0,
        sent.accepted_messages,
        sent.accepted.len(),
        sent.refused.len(),
        sent.unknown.len(),
        unknown_delivered,
        sent.unsent,
        a.in_mailboxes,
        a.doveadm,
        a.folders,
        a.tmp_files,
        a.at_sink,
        queued,
        lost.len(),
        duplicated.len(),
        again.len(),
        a.truncated.len()
    );
    if !again.is_empty() {
        println!("  delivered again after the cut (in flight at it): {again:?}");
    }
    for (why, n) in &sent.reasons {
        println!("  refused {n}x: {why}");
    }
    for (k, why) in a.queued.iter().take(10) {
        println!("  queued: {} {}: {why}", k.0, k.1);
    }
    assert!(
        lost.is_empty(),
        "{r} {tag}: accepted, then lost (neither delivered nor queued): {:?}",
        lost.iter().take(20).collect::<Vec<_>>()
    );
    assert!(
        duplicated.is_empty(),
        "{r} {tag}: delivered more than once: {:?}",
        duplicated.iter().take(20).collect::<Vec<_>>()
    );
    assert!(
        a.truncated.is_empty(),
        "{r} {tag}: messages not whole in the mailboxes: {:?}",
        a.truncated.iter().take(20).collect::<Vec<_>>()
    );
    assert!(
        refused_delivered.is_empty() && unexpected.is_empty(),
        "{r} {tag}: delivered though refused {:?}, or never sent {:?}",
        refused_delivered.iter().take(20).collect::<Vec<_>>(),
        unexpected.iter().take(20).collect::<Vec<_>>()
    );
    (lost.len(), queued)
}

/// The load run: both clients at once, the stack's memory sampled meanwhile.
fn load(bed: &Bed, sink: &Path, dir: &Path) {
    let r = &bed.release;
    let n25 = env_count("MAILSTEAD_LOAD_MESSAGES", 5000);
    let n587 = env_count("MAILSTEAD_LOAD_SUBMISSIONS", 500);
    let tag = "LOADA";
    let (f25, f587) = (dir.join("a25.jsonl"), dir.join("a587.jsonl"));
    let (idle, idle_detail) = stack_pss(bed);
    let done = AtomicBool::new(false);
    let t0 = Instant::now();
    let (peak, peak_detail, send_secs) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut best = (0u64, String::new());
            while !done.load(Ordering::Relaxed) {
                let now = stack_pss(bed);
                if now.0 > best.0 {
                    best = now;
                }
                std::thread::sleep(Duration::from_secs(2));
            }
            best
        });
        let a = client(bed, 25, n25, &format!("{tag}25"), &f25);
        let b = client(bed, 587, n587, &format!("{tag}587"), &f587);
        finish(a, "port 25");
        finish(b, "port 587");
        let send_secs = t0.elapsed().as_secs_f64();
        // The queue drains with the sampler still on: delivery is part of the peak.
        let d = drain(bed, 240);
        done.store(true, Ordering::Relaxed);
        let (p, pd) = sampler.join().expect("sampler");
        println!("{r}: sent in {send_secs:.1} s, queue empty {d:.1} s later");
        (p, pd, send_secs)
    });
    let all = t0.elapsed().as_secs_f64();
    let sent = read_sent(&[&f25, &f587]);
    let (_, queued) = count(bed, sink, tag, &sent, None);
    println!(
        "bench-load {r}: {} + {} messages ({:.1} MiB) from outside on 25 and 587: \
         {} accepted, {:.1} messages/s accepted while sending ({send_secs:.1} s), \
         {:.1} messages/s to the last delivery ({all:.1} s); queued at the end {queued}; \
         stack PSS idle {:.0} MiB ({idle_detail}), peak {:.0} MiB ({peak_detail})",
        n25,
        n587,
        sent.bytes as f64 / 1048576.0,
        sent.accepted_messages,
        sent.accepted_messages as f64 / send_secs,
        sent.accepted_messages as f64 / all,
        mib(idle),
        mib(peak)
    );
}

/// Each service the server needs, active after a boot, and configured as before it.
fn services_back(bed: &Bed, when: &str) {
    let r = &bed.release;
    // Postfix's master runs under postfix.service on trixie, under postfix@-.service (with
    // postfix.service a wrapper) on bookworm: the unit, and its master process.
    let units = "postfix.service dovecot.service rspamd.service redis-server.service fail2ban.service ufw.service certbot.timer";
    // Up by itself: waited for (a boot brings them up in parallel), never started by hand.
    let st = bed.sh(&format!(
        "for i in $(seq 120); do systemctl is-active --quiet {units} && pgrep -x master >/dev/null && exit 0; sleep 0.5; done; systemctl is-active {units}; pgrep -ax master; exit 1"
    ));
    assert!(
        st.ok(),
        "{r} {when}: not every service came back by itself:\n{}\n{}",
        st.text(),
        bed.system_state().1
    );
    wait_rspamd(bed);
    // ufw's rules are in the kernel again (its chains and the mail ports).
    let fw =
        bed.sh_ok("ufw status; nft list ruleset 2>/dev/null | grep -c 'ufw-user-input' || true");
    assert!(
        fw.contains("Status: active") && fw.contains("25/tcp") && fw.contains("993"),
        "{r} {when}: ufw's rules not back:\n{fw}"
    );
}

fn check_passes(bed: &Bed, when: &str) -> String {
    let c = bed.mailstead(&["check"]);
    assert!(
        matches!(c.code, 0 | 5) && !c.stdout.contains("✗ "),
        "{} {when}: check:\n{}",
        bed.release,
        c.text()
    );
    c.stdout
}

/// The newest run's journal has passed the first changes of add-domain's `mailboxes` step.
const IN_MAILBOXES_STEP: &str = r#"for i in $(seq 300); do
  j=$(ls -t /var/lib/mailstead/runs/*/journal.jsonl 2>/dev/null | head -n 1)
  [ -n "$j" ] && grep -q 'add-domain' "$j" && grep -q '"t":"change_done","step":"mailboxes"' "$j" && exit 0
  sleep 0.1
done
exit 1"#;

fn power_cut(bed: &Bed, sink: &Path, dir: &Path) {
    let r = &bed.release;
    // A ban to survive the cut (a TEST-NET address: never the host's).
    bed.sh_ok("fail2ban-client set mailstead-postfix banip 192.0.2.7 >/dev/null");
    let fp = std::env::var_os("MAILSTEAD_FAILPOINTS_BIN")
        .expect("set MAILSTEAD_FAILPOINTS_BIN to a mailstead built with --features failpoints");
    bed.cp_in(Path::new(&fp), "/usr/local/sbin/mailstead-fp");
    let tag = "LOADB";
    let (f25, f587) = (dir.join("b25.jsonl"), dir.join("b587.jsonl"));
    let n25 = env_count("MAILSTEAD_LOAD_CUT_MESSAGES", 800);
    let (how, window) = std::thread::scope(|s| {
        let run = s.spawn(|| {
            bed.exec(&[
                "env",
                "FAILPOINTS=mailboxes.mid=sleep(600000)",
                "/usr/local/sbin/mailstead-fp",
                "add-domain",
                "cut.test",
                "--yes",
                "--plain",
            ])
        });
        let a = client(bed, 25, n25, &format!("{tag}25"), &f25);
        let b = client(bed, 587, n25 / 4, &format!("{tag}587"), &f587);
        // Mid-load on both ports: some messages taken, the run stopped in its step.
        let t0 = Instant::now();
        let lines = |f: &Path| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .count()
        };
        while lines(&f25) < n25 / 8 || lines(&f587) < 10 {
            assert!(
                t0.elapsed().as_secs() < 300,
                "{r}: the load did not get going"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let mid = bed.sh(IN_MAILBOXES_STEP);
        assert!(
            mid.ok(),
            "{r}: add-domain never reached its mailboxes step:\n{}",
            mid.text()
        );
        let queue = bed.sh_ok("postqueue -j | wc -l");
        println!("{r}: power cut with {} messages queued", queue.trim());
        let start = unix_now();
        let how = bed.reboot(true);
        let window = (start, unix_now() + 1);
        let killed = run.join().expect("add-domain");
        assert!(
            !killed.ok(),
            "{r}: add-domain ended before the cut:\n{}",
            killed.text()
        );
        finish(a, "port 25, through the cut");
        finish(b, "port 587, through the cut");
        (how, window)
    });
    println!("{r}: {how}");
    services_back(bed, "after the power cut");
    let bans = bed.sh_ok(
        "fail2ban-client status mailstead-postfix; nft list ruleset 2>/dev/null | grep -c 192.0.2.7 || true",
    );
    assert!(
        bans.contains("192.0.2.7") && !bans.trim_end().ends_with("\n0"),
        "{r}: the ban did not survive the power cut (in fail2ban and in the kernel):\n{bans}"
    );
    let d = drain(bed, 240);
    println!("{r}: queue after the cut empty after {d:.1} s");
    // Both loads: what was accepted before the cut and what went after it.
    let a = read_sent(&[&dir.join("a25.jsonl"), &dir.join("a587.jsonl")]);
    count(bed, sink, "LOADA", &a, None);
    let b = read_sent(&[&f25, &f587]);
    count(bed, sink, tag, &b, Some(window));
    // The interrupted add-domain: named by check, recovered by the next install.
    let c = bed.mailstead(&["check"]);
    assert!(
        c.text().contains("was interrupted"),
        "{r}: check does not name the interrupted run:\n{}",
        c.text()
    );
    let i = bed.mailstead(&["install", "--yes", "--plain"]);
    assert!(
        i.ok() && i.stdout.contains("Recovered interrupted run"),
        "{r}: install after the cut:\n{}",
        i.text()
    );
    let left = bed.sh("grep -rl 'cut.test' /etc/postfix /etc/mailstead /etc/rspamd 2>/dev/null");
    assert!(
        left.stdout.trim().is_empty(),
        "{r}: the interrupted add-domain was not rolled back: {}",
        left.stdout
    );
    check_passes(bed, "after the power cut and the recovery");
    bed.sh_ok("fail2ban-client set mailstead-postfix unbanip 192.0.2.7 >/dev/null");
}

fn clean_reboot(bed: &Bed) {
    let r = &bed.release;
    let how = bed.reboot(false);
    println!("{r}: {how}");
    services_back(bed, "after a clean reboot");
    check_passes(bed, "after a clean reboot");
    bed.smtp_deliver("bob@example.test", "after-reboot")
        .unwrap_or_else(|e| panic!("{r}: deliver after the reboot: {e}"));
    bed.imaps_fetch("bob@example.test", ALICE_PASSWORD, Some("after-reboot"), 60)
        .unwrap_or_else(|e| panic!("{r}: read after the reboot: {e}"));
}

fn nothing_lost(release: &str) {
    let t0 = Instant::now();
    let bed = Bed::installed(&format!("load-{release}"), release);
    let sink = setup(&bed);
    let dir = tempfile::tempdir().expect("tempdir");
    load(&bed, &sink, dir.path());
    let t_load = t0.elapsed().as_secs_f64();
    power_cut(&bed, &sink, dir.path());
    let t_cut = t0.elapsed().as_secs_f64() - t_load;
    clean_reboot(&bed);
    println!(
        "{release}: nothing lost: load {t_load:.0} s, power cut {t_cut:.0} s, clean reboot {:.0} s ({MAILSTEAD_IN_BED})",
        t0.elapsed().as_secs_f64() - t_load - t_cut
    );
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn nothing_lost_trixie() {
    nothing_lost("trixie");
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn nothing_lost_bookworm() {
    nothing_lost("bookworm");
}
