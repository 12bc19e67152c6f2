//! The gateway's log lines, captured by a thread-default subscriber: the gateway runs on
//! the test's current-thread runtime, so its tasks log on the test's own thread, and tests
//! running beside it on other threads do not mix their lines in.

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// The lines that `filter` (an `EnvFilter` directive, e.g. `"info"` or
    /// `"warn,portcullis=debug"`) lets through, while the guard lives.
    pub fn capture(filter: &str) -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        settle_interest();
        (logs, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Makes every callsite ask the subscribers again whether they want it. A callsite decides
/// once, at its first event, and caches the answer; a test running beside this one on
/// another thread, without a subscriber, can reach a callsite first while this test's
/// subscriber is being registered, and leave "never" cached for it (tracing-core computes
/// and stores the answer without a lock). Called after the subscriber is registered, and
/// by a test again once its gateway is up, it leaves each callsite with the answer that
/// counts this subscriber.
pub fn settle_interest() {
    tracing::callsite::rebuild_interest_cache();
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
