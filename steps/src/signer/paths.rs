//! Where the `signer` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).
use crate::layout::DKIM_KEY_DIR;
use std::path::PathBuf;

/// rspamd's DKIM signing settings, mailstead's own (rspamd reads `local.d` over its defaults).
pub const DKIM_SIGNING_CONF: &str = "/etc/rspamd/local.d/dkim_signing.conf";

/// rspamd's ratelimit module settings: the sending limit of logged-in users.
pub const RATELIMIT_CONF: &str = "/etc/rspamd/local.d/ratelimit.conf";

/// rspamd's local Lua rules (read by both rspamd 3.4 and 3.12; `lua.local.d/` is 3.12 only):
/// the `From:` header of a logged-in user's mail must be its envelope sender.
pub const RSPAMD_LOCAL_LUA: &str = "/etc/rspamd/rspamd.local.lua";

/// The user Debian's rspamd package creates (bookworm 3.4 and trixie 3.12 alike).
pub const RSPAMD_USER: &str = "_rspamd";

/// rspamd's proxy worker in milter mode, as Debian's package binds it (`localhost:11332`).
pub const RSPAMD_MILTER: &str = "inet:127.0.0.1:11332";

/// The private key of `domain` for `selector`: `DKIM_KEY_DIR/<domain>.<selector>.key`.
pub fn dkim_key_path(domain: &str, selector: &str) -> PathBuf {
    PathBuf::from(DKIM_KEY_DIR).join(format!("{domain}.{selector}.key"))
}
