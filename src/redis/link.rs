//! The state of the connection to Redis, as the client's own events report it: starting, up,
//! or down with the last connection error. Calls read it to fail at once while Redis is down
//! (instead of queueing until it is back), and it logs each loss (WARN) and recovery (INFO)
//! once, not once per failed call.

use fred::clients::Client;
use fred::interfaces::EventInterface;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// What the client's events last said about the connection.
#[derive(Debug, Clone)]
pub(super) enum LinkState {
    /// The first connection attempt has not finished.
    Starting,
    /// Connected.
    Up,
    /// The connection failed or was lost; the client keeps redialling.
    Down(fred::error::Error),
}

/// Follows `client`'s error and (re)connection events from now on, in a background task that
/// ends with the last receiver. Call before `client.connect()` so no event is missed.
pub(super) fn follow(client: &Client) -> watch::Receiver<LinkState> {
    let (state, receiver) = watch::channel(LinkState::Starting);
    let mut errors = client.error_rx();
    let mut connects = client.reconnect_rx();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                event = errors.recv() => match event {
                    Ok((error, _server)) => state.send_modify(|state| went_down(state, error)),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                event = connects.recv() => match event {
                    Ok(_server) => state.send_modify(came_up),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                () = state.closed() => break,
            }
        }
    });
    receiver
}

pub(super) fn went_down(state: &mut LinkState, error: fred::error::Error) {
    match state {
        LinkState::Down(_) => {}
        LinkState::Starting => {
            tracing::warn!(error = %error, "cannot reach Redis; its calls fail until it answers")
        }
        LinkState::Up => {
            tracing::warn!(error = %error, "lost the connection to Redis; its calls fail until it is back")
        }
    }
    *state = LinkState::Down(error);
}

pub(super) fn came_up(state: &mut LinkState) {
    match state {
        LinkState::Up => {}
        LinkState::Starting => tracing::info!("connected to Redis"),
        LinkState::Down(_) => tracing::info!("the connection to Redis is back"),
    }
    *state = LinkState::Up;
}
