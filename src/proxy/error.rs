//! Why an upstream exchange failed, read from the upstream client's error and its sources.

use super::pool::SendError;
use crate::error_chain::error_chain;

/// Why an upstream exchange failed. The messages name no token or header value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    /// No connection could be made (refused, unresolvable, TLS failure): 502.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// No connection or no response headers in time: 504.
    #[error("upstream did not answer in time")]
    Timeout,
    /// The upstream broke HTTP (closed early, malformed response, unrequested upgrade): 502.
    #[error("upstream protocol error: {0}")]
    Protocol(String),
    /// The client's request body broke off on the way (a malformed chunk, fewer bytes than
    /// its `Content-Length`): the client's fault, 400.
    #[error("the client's request body is malformed or incomplete: {0}")]
    ClientBody(String),
    /// The client asked for an upgrade the gateway cannot check (a WebSocket handshake
    /// without one valid `Sec-WebSocket-Key`): the client's fault, 400, nothing sent.
    #[error("the client's upgrade request is invalid: {0}")]
    BadUpgrade(&'static str),
}

impl ProxyError {
    /// Whether the client, not the upstream, is to blame (answered 4xx, not counted as an
    /// upstream failure).
    pub(crate) fn is_clients_fault(&self) -> bool {
        matches!(self, ProxyError::ClientBody(_) | ProxyError::BadUpgrade(_))
    }

    pub(super) fn from_client(err: &SendError) -> ProxyError {
        let chain = error_chain(err);
        match err {
            SendError::Connect(_) if timed_out(err) => ProxyError::Timeout,
            SendError::Connect(_) => ProxyError::Unreachable(chain),
            SendError::Exchange(_) | SendError::NoOrigin => ProxyError::Protocol(chain),
        }
    }
}

/// True when the connect timeout fired (an `io::ErrorKind::TimedOut` among the sources), which
/// like nginx we report as a timeout rather than as an unreachable upstream.
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = cause.source();
    }
    false
}
