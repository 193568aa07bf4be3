//! Where the `ssh` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).

/// The SSH drop-in that holds `AllowUsers`.
pub const SSH_DROP_IN: &str = "/etc/ssh/sshd_config.d/50-mailstead.conf";
