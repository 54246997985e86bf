//! Why `mqtt` stopped: one line for stderr, an exit status, and whether reconnecting may help.

use std::fmt;
use std::io;
use std::time::Duration;

use embedded_mqtts::tls::{ClientCertificateRefused, ConnectError, TlsFailure};
use embedded_mqtts::Error;

use crate::args::{UsageError, TIMED_OUT_STATUS};

/// Everything that ends a run other than success.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong.
    Usage(UsageError),
    /// The broker's address could not be reached.
    Unreachable { address: String, error: io::Error },
    /// The MQTT client failed (refused, protocol error, connection lost, ...).
    Mqtt(Error),
    /// The TLS handshake failed, or the broker's certificate was refused (boxed: the
    /// verifier's facts are large, the other failures small).
    Tls(Box<ConnectError>),
    /// The TLS stream failed after the handshake (an alert, a bad record, a handshake message
    /// the broker must not send then).
    TlsStream(TlsFailure),
    /// A trust file (--cafile, --pin-cert) or a client certificate or key (--cert, --key)
    /// could not be used.
    TrustFile { path: String, reason: String },
    /// The broker refused this client certificate (`--cert`), or its absence (`None`):
    /// `refusal` says with which alert, or how it closed the connection.
    ClientCertificateRefused {
        cert: Option<String>,
        refusal: ClientCertificateRefused,
    },
    /// The broker refused these filters in its SUBACK.
    SubscriptionRefused(Vec<String>),
    /// `-W` expired.
    TimedOut(Duration),
    /// A message could not be read (stdin, a file).
    Input { source: String, error: io::Error },
    /// stdout could not be written.
    Output(io::Error),
    /// `--reconnect` tried this many times; the last failure.
    GaveUp { tries: u32, last: Box<Failure> },
}

impl Failure {
    /// The process exit status: 27 for `-W` (as mosquitto_sub), 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            Failure::TimedOut(_) => TIMED_OUT_STATUS as u8,
            _ => 1,
        }
    }

    /// Whether this is the connection failing (the broker gone, the link broken), which a
    /// reconnect may cure, rather than the broker or the user saying no.
    pub fn is_connection_loss(&self) -> bool {
        match self {
            Failure::Unreachable { .. } | Failure::TlsStream(_) => true,
            // A refused certificate stays refused; a broken handshake may not.
            Failure::Tls(e) => !matches!(**e, ConnectError::Verify(_)),
            Failure::Mqtt(Error::Refused(_)) => false,
            Failure::Mqtt(e) => e.is_fatal(),
            _ => false,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Mqtt(e)
    }
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Self {
        Failure::Usage(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(e) => write!(f, "{} (see {} --help)", e.reason, e.command),
            Failure::Unreachable { address, error } => {
                write!(f, "cannot connect to {address}: {error}")
            }
            // The code's own words start with "refused: ...".
            Failure::Mqtt(Error::Refused(code)) => write!(f, "connection refused: {code}"),
            Failure::Mqtt(e) => write!(f, "{e}"),
            Failure::Tls(e) => write!(f, "TLS: {e}"),
            Failure::TlsStream(e) => write!(f, "TLS: {e}"),
            Failure::TrustFile { path, reason } => write!(f, "{path}: {reason}"),
            Failure::ClientCertificateRefused {
                cert: Some(cert),
                refusal,
            } => write!(f, "TLS: {refusal} (--cert {cert})"),
            Failure::ClientCertificateRefused {
                cert: None,
                refusal,
            } => write!(f, "TLS: {refusal} (give one with --cert and --key)"),
            Failure::SubscriptionRefused(filters) => {
                write!(
                    f,
                    "broker refused the subscription to {}",
                    filters.join(", ")
                )
            }
            Failure::TimedOut(after) => write!(f, "Timed out after {} s", after.as_secs()),
            Failure::Input { source, error } => write!(f, "cannot read {source}: {error}"),
            Failure::Output(error) => write!(f, "cannot write to stdout: {error}"),
            Failure::GaveUp { tries, last } => {
                write!(f, "{last} (gave up after {tries} reconnect attempts)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_mqtts::packet::ConnectReturnCode;

    #[test]
    fn refusal_reads_as_one_reason() {
        let refused = Failure::Mqtt(Error::Refused(ConnectReturnCode::NotAuthorized));
        assert_eq!(refused.to_string(), "connection refused: not authorized");
        assert!(!refused.is_connection_loss());
        assert_eq!(refused.exit_status(), 1);
    }

    #[test]
    fn only_a_lost_connection_is_worth_a_reconnect() {
        assert!(Failure::Mqtt(Error::ConnectionClosed).is_connection_loss());
        let unreachable = Failure::Unreachable {
            address: "localhost:1".to_owned(),
            error: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert!(unreachable.is_connection_loss());
        assert!(!Failure::Mqtt(Error::NotConnected).is_connection_loss());
        assert!(!Failure::TimedOut(Duration::from_secs(1)).is_connection_loss());
        assert_eq!(Failure::TimedOut(Duration::from_secs(1)).exit_status(), 27);
    }
}
