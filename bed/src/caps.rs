//! The demo's host needs: the binary installs them, `tests/demo.rs` checks the same list.

/// The host capabilities the demo needs (rows of the bed's `CAPS` table): everything to boot
/// a bed and the outside clients, not the release tools (shellcheck, objdump).
pub const DEMO_CAPS: &[&str] = &[
    "namespaces",
    "flock",
    "script",
    "iproute2",
    "sysctl",
    "debootstrap",
    "zstd",
    "openssl",
    "curl",
    "socat",
    "pebble",
    "swaks",
    "swaks-tls",
    "python3",
    "dnsmasq",
    "aiosmtpd",
    "dkimpy",
];
