//! A cached `get_token` inside the daemon, without a socket: through the
//! session layer alone, and through the request handler that every
//! connection calls. The token comes from the test source (the one
//! `wrs-tokend --test-source` serves) and is fetched once before timing,
//! so this is the daemon's own cost per request. `cargo bench -p
//! wrs-tokend --bench get_token`.

use std::path::PathBuf;
use std::sync::Arc;

use divan::{Bencher, black_box};
use tokio::runtime::Runtime;
use wrs_proto::{Request, Response};
use wrs_tokend::clock::SystemClock;
use wrs_tokend::handler::Handler;
use wrs_tokend::session::Sessions;
use wrs_tokend::testing::{TestSource, TestSourceSpec};

fn main() {
    divan::main();
}

/// A single-threaded runtime and sessions holding a cached token for
/// profile `bench`.
fn cached() -> (Runtime, Arc<Sessions>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let spec: TestSourceSpec = "profile=bench,lifetime=3600"
        .parse()
        .expect("a valid test source spec");
    let clock = Arc::new(SystemClock);
    let sessions = Arc::new(Sessions::new(
        Arc::new(TestSource::new(spec, clock.clone())),
        clock,
    ));
    runtime
        .block_on(sessions.get_token(Some("bench"), None, None))
        .expect("the first token");
    (runtime, sessions)
}

#[divan::bench]
fn sessions_get_token(bencher: Bencher) {
    let (runtime, sessions) = cached();
    bencher
        .bench_local(|| runtime.block_on(sessions.get_token(black_box(Some("bench")), None, None)));
}

#[divan::bench]
fn handler_get_token(bencher: Bencher) {
    let (runtime, sessions) = cached();
    let _inside = runtime.enter();
    let handler = Handler::new(sessions, PathBuf::from("/nonexistent/agent.sock"));
    bencher.bench_local(|| {
        let answer = runtime.block_on(handler.handle(black_box(Request::GetToken {
            profile: Some("bench".to_owned()),
            min_ttl_secs: None,
            env_min_ttl_secs: None,
        })));
        assert!(matches!(answer, Response::Token(_)), "{answer:?}");
        answer
    });
}
