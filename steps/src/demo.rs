//! Two small steps that exercise every kind of change the engine knows, so the engine's
//! promises (rollback, recovery, plan, re-run) are tested fully on a plain directory tree.
//! Reached only through the hidden `--demo` flag; they touch nothing but `/etc/demo`.
//!
//! Each step writes files and runs a command; the command fails (after writing) when
//! `/etc/demo/<step>.fail` exists, so a test can make a half-done command happen.
use color_eyre::eyre::{ensure, Result};
use mailstead_answers::Answers;
use mailstead_engine::{Change, Cmd, Ctx, Perms, Planned, Step};

pub struct DemoFiles;
pub struct DemoCommand;

pub fn steps() -> Vec<Box<dyn Step<Answers>>> {
    vec![Box::new(DemoFiles), Box::new(DemoCommand)]
}

/// A command that writes `file` (and a small tree for `demo-command`), needed while the file
/// does not hold `want` or a failure is asked for.
fn command(
    ctx: &Ctx<Answers>,
    step: &str,
    file: &str,
    want: &str,
    tree: bool,
) -> Result<Option<Change>> {
    let have = ctx.host.read_string(file.as_ref())?.unwrap_or_default();
    let marker = format!("/etc/demo/{step}.fail");
    let fail = ctx.host.exists(marker.as_ref());
    if have == want && !fail {
        return Ok(None);
    }
    let mut script = format!("printf '%s' '{want}' > {file}; chmod 600 {file}; ");
    let mut touches = vec![file];
    if tree {
        script.push_str("mkdir -p /etc/demo/tree/a; printf 'b\\n' > /etc/demo/tree/a/b; ");
        touches.push("/etc/demo/tree");
    }
    script.push_str(&format!("[ ! -e {marker} ]"));
    let mut run = Change::run(
        format!("generate {file}"),
        Cmd::new("sh", ["-c", &script]),
        &touches,
    );
    if let Change::Run { detail, .. } = &mut run {
        detail.push(format!("{file}: {:?} -> {:?}", have.trim(), want.trim()));
    }
    Ok(Some(run))
}

/// Writes, rewrites (new mode and owner), removes, makes a directory, creates parents, and
/// one file per domain listing its mailboxes; then stamps.
impl Step<Answers> for DemoFiles {
    fn name(&self) -> &'static str {
        "demo-files"
    }
    fn about(&self) -> &'static str {
        "write the demo configuration files"
    }
    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let a = ctx.answers;
        let mut changes = vec![
            Change::write(
                "/etc/demo/app.conf",
                format!("hostname = {}\nadmin = {}\n", a.hostname, a.admin_email),
                Perms::root(0o640),
            ),
            Change::write(
                "/etc/demo/existing.conf",
                format!("# managed by mailstead\nhostname = {}\n", a.hostname),
                Perms::root(0o600),
            ),
            Change::RemoveFile {
                path: "/etc/demo/obsolete.conf".into(),
            },
            Change::EnsureDir {
                path: "/etc/demo/data".into(),
                meta: Perms::root(0o750),
            },
            Change::write(
                "/etc/demo/nested/deeper/file.conf",
                "nested = yes\n",
                Perms::root(0o644),
            ),
        ];
        for d in &a.domains {
            let mut body = format!("domain {}\n", d.name);
            for m in &d.mailboxes {
                body.push_str(&format!("mailbox {}\n", m.address));
            }
            changes.push(Change::write(
                &format!("/etc/demo/domains/{}.conf", d.name),
                body,
                Perms::root(0o644),
            ));
        }
        let stamp = format!("files for {}\n", a.hostname);
        changes.extend(command(
            ctx,
            self.name(),
            "/etc/demo/files.stamp",
            &stamp,
            false,
        )?);
        Ok(changes.into())
    }
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        ensure!(
            ctx.host.exists("/etc/demo/app.conf".as_ref()),
            "/etc/demo/app.conf is missing after apply"
        );
        Ok(())
    }
}

/// Writes one file, then runs a command that writes a file and a tree, and asks for a reload.
impl Step<Answers> for DemoCommand {
    fn name(&self) -> &'static str {
        "demo-command"
    }
    fn about(&self) -> &'static str {
        "run the demo command"
    }
    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let want = format!("generated for {}\n", ctx.answers.hostname);
        let mut changes = vec![Change::write(
            "/etc/demo/command.conf",
            format!("command for {}\n", ctx.answers.hostname),
            Perms::root(0o644),
        )];
        changes.extend(command(
            ctx,
            self.name(),
            "/etc/demo/generated.conf",
            &want,
            true,
        )?);
        changes.push(Change::reload("demo"));
        Ok(changes.into())
    }
}
