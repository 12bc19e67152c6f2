// TEMPORARY STUB
#![allow(dead_code, unused_variables)]
use std::time::{Duration, Instant};
pub(crate) struct FailureLimit;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter(pub(crate) Duration);
impl RetryAfter {
    pub(crate) fn seconds(self) -> u64 {
        1
    }
}
impl FailureLimit {
    pub(crate) fn new(allowed: u32, window: Duration) -> FailureLimit {
        FailureLimit
    }
    pub(crate) fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        Ok(())
    }
    pub(crate) fn fail(&self, key: &str, now: Instant) {}
    pub(crate) fn clear(&self, key: &str) {}
}
