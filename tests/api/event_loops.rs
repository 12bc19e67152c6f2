//! The gateway on several event loops, as `portcullis` runs on a machine with several CPUs
//! (`Application::with_threads`): the further loops run on threads of their own, every
//! connection is answered whichever loop accepts it, and stopping ends every loop after its
//! requests in flight.

use std::time::Duration;

use crate::connections::{read_until_closed, start_held_stream};
use crate::helpers::spawn_app_with;

/// Generous: nothing here waits on a timeout of the gateway's.
const BOUND: Duration = Duration::from_secs(15);

/// The names of this process's threads that are the gateway's further event loops.
fn event_loop_threads() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("portcullis-"))
        .collect();
    names.sort();
    names
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let waiting = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    tokio::time::timeout(BOUND, waiting)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_event_loops_answer_every_connection_and_stop_after_the_request_in_flight() {
    let app = spawn_app_with(|cfg| cfg.wait_until_ready = false).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let gateway =
        portcullis::startup::Application::with_listener(app.gateway_config.clone(), listener)
            .await
            .expect("a second gateway on the same configuration")
            .with_threads(3);
    let addr = gateway.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gateway.run_until(async {
        let _ = stopped.await;
    }));
    eventually("the two further event loops run", || {
        event_loop_threads() == ["portcullis-1", "portcullis-2"]
    })
    .await;

    // Many connections at once, several keep-alive requests on each: the kernel hands them
    // to whichever loop accepts first, and every one is answered by the upstream.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let mut requests = tokio::task::JoinSet::new();
    for connection in 0..48 {
        let client = client.clone();
        requests.spawn(async move {
            let mut paths = Vec::new();
            for request in 0..4 {
                let path = format!("/public/loops/{connection}/{request}");
                let response = client
                    .get(format!("http://{addr}{path}"))
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(response.status(), 200, "{path}");
                paths.push(path);
            }
            paths
        });
    }
    let mut answered = Vec::new();
    while let Some(paths) = requests.join_next().await {
        answered.extend(paths.expect("the requests of one connection"));
    }
    let seen: Vec<String> = app
        .upstream
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(answered.len(), 48 * 4);
    for path in &answered {
        assert!(seen.contains(path), "{path} did not reach the upstream");
    }

    // A streamed answer in flight when the gateway is told to stop is finished, and then
    // every loop ends: the call returns and the threads are gone.
    let mut stream = start_held_stream(addr).await;
    stop.send(()).expect("the gateway is running");
    app.upstream.release_stream();
    let rest = read_until_closed(&mut stream).await;
    assert!(rest.contains("chunk-3"), "{rest}");
    let result = tokio::time::timeout(BOUND, running)
        .await
        .expect("the gateway stops")
        .expect("the gateway task");
    assert!(result.is_ok(), "{result:?}");
    eventually("the further event loops' threads end", || {
        event_loop_threads().is_empty()
    })
    .await;
}
