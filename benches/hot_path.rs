//! Criterion micro-benchmarks of the gateway's hot path (DESIGN §7, issue 13): what a
//! signed-in proxied request pays besides the network — opening its session cookie (and
//! refusing a tampered one), matching its route, rewriting its headers — and what an API
//! request pays to have its RS256 bearer token checked.
//!
//! `cargo bench --bench hot_path` runs them all (`-- session` one group). The inputs are made
//! once by `portcullis::benching`, which calls the gateway's own functions; each case is
//! checked once before it is measured, so a number is never that of a failure path.

// A benchmark whose set-up fails has nothing to measure: it stops there, like a test.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use portcullis::benching::{
    BearerCheck, HeaderRewrite, RouteMatch, SessionOpen, HOST_HIT, MISS, PREFIX_HIT,
};

fn session_open(c: &mut Criterion) {
    let open = SessionOpen::new().expect("set up the session open");
    assert!(open.open().is_some(), "the session does not open");
    assert!(open.reject().is_none(), "the tampered session opens");
    let mut group = c.benchmark_group("session");
    group.bench_function("open", |b| b.iter(|| black_box(&open).open()));
    group.bench_function("reject_tampered", |b| b.iter(|| black_box(&open).reject()));
    group.bench_function("unseal", |b| b.iter(|| black_box(&open).unseal()));
    group.finish();
}

fn route_match(c: &mut Criterion) {
    let routes = RouteMatch::new().expect("set up the route table");
    assert!(routes.route(PREFIX_HIT).is_some() && routes.route(HOST_HIT).is_some());
    assert!(routes.route(MISS).is_none());
    let mut group = c.benchmark_group("route");
    for (name, target) in [
        ("prefix_hit", PREFIX_HIT),
        ("host_hit", HOST_HIT),
        ("miss", MISS),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(&routes).route(black_box(target)).is_some())
        });
    }
    group.finish();
}

fn header_rewrite(c: &mut Criterion) {
    let rewrite = HeaderRewrite::new().expect("set up the header rewrite");
    let rewritten = rewrite.rewrite(rewrite.request());
    assert!(rewritten.headers().contains_key("x-forwarded-user"));
    let mut group = c.benchmark_group("rewrite");
    group.bench_function("signed_in_navigation", |b| {
        b.iter_batched(
            || rewrite.request(),
            |request| rewrite.rewrite(request),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn bearer_check(c: &mut Criterion) {
    let check = BearerCheck::new().expect("set up the bearer check");
    assert!(check.valid().is_some(), "the valid token is refused");
    assert!(check.tampered().is_none(), "the tampered token is accepted");
    let mut group = c.benchmark_group("bearer");
    group.bench_function("rs256_valid", |b| b.iter(|| black_box(&check).valid()));
    group.bench_function("rs256_tampered", |b| {
        b.iter(|| black_box(&check).tampered())
    });
    group.finish();
}

criterion_group!(
    hot_path,
    session_open,
    route_match,
    header_rewrite,
    bearer_check
);
criterion_main!(hot_path);
