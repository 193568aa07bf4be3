//! Where the `tls` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).

/// The systemd timer (and its service) that retries issuing the real certificate.
pub const CERT_RETRY_TIMER: &str = "/etc/systemd/system/mailstead-certificate.timer";

pub const CERT_RETRY_SERVICE: &str = "/etc/systemd/system/mailstead-certificate.service";
