//! Route match: the ten routes of the benchmark gateway (`gateway.rs`), and requests that
//! match one by path prefix, one by host, and none.

use super::gateway::{Gateway, PUBLIC_HOST};
use crate::config::UpstreamConfig;
use crate::proxy::RouteTable;

/// A request's `Host` and path (the gate routes by the path, without the query).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub host: &'static str,
    pub path: &'static str,
}

/// A page of the app under `/app`.
pub const PREFIX_HIT: Target = Target {
    host: PUBLIC_HOST,
    path: "/app/projects/42/settings",
};
/// A page of the wiki, on its own host.
pub const HOST_HIT: Target = Target {
    host: "wiki.example.com",
    path: "/pages/Onboarding/First-week",
};
/// A path under no route's prefix (nothing serves `/` on the public host).
pub const MISS: Target = Target {
    host: PUBLIC_HOST,
    path: "/reports/2026/q3",
};

/// The gateway's route table.
pub struct RouteMatch {
    routes: RouteTable,
}

impl RouteMatch {
    pub fn new() -> anyhow::Result<RouteMatch> {
        Ok(RouteMatch {
            routes: Gateway::discovered()?.state.routes.clone(),
        })
    }

    /// The measured part: the upstream the gateway routes `target` to, as the gate does.
    pub fn route(&self, target: Target) -> Option<&UpstreamConfig> {
        self.routes.route(Some(target.host), target.path)
    }
}
