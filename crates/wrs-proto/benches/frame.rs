//! The codec's cost per message, apart from any socket: a `get_token`
//! request and its token answer, encoded and decoded in binary and JSON
//! mode. `cargo bench -p wrs-proto --bench frame`.

use divan::{Bencher, black_box};
use wrs_proto::frame::{
    LEN_PREFIX, Mode, decode_binary, decode_json, decode_request, encode_binary, encode_json,
};
use wrs_proto::{Request, RequestEnvelope, Response, Secret, TokenReply};

fn main() {
    divan::main();
}

/// What `wrs-token print -p bench` sends.
fn request() -> RequestEnvelope {
    RequestEnvelope::new(Request::GetToken {
        profile: Some("bench".to_owned()),
        min_ttl_secs: None,
        env_min_ttl_secs: None,
    })
}

/// A token answer with a JWT-sized access token (about 1 KB, as
/// PingFederate's are).
fn answer() -> Response {
    Response::Token(TokenReply {
        profile: "bench".to_owned(),
        access_token: Secret::new("x".repeat(1000)),
        token_type: "Bearer".to_owned(),
        expires_at: 1_800_000_000,
        lifetime_secs: 3600,
        min_ttl_secs: 10,
        min_ttl_met: true,
        warning: None,
        scope: Some("openid offline_access".to_owned()),
    })
}

#[divan::bench]
fn encode_request_binary(bencher: Bencher) {
    let request = request();
    bencher.bench_local(|| encode_binary(black_box(&request)));
}

#[divan::bench]
fn encode_request_json(bencher: Bencher) {
    let request = request();
    bencher.bench_local(|| encode_json(black_box(&request)));
}

#[divan::bench]
fn decode_request_binary(bencher: Bencher) {
    let frame = encode_binary(&request()).expect("the request encodes");
    let body = &frame[LEN_PREFIX..];
    bencher.bench_local(|| decode_request(Mode::Binary, black_box(body)));
}

#[divan::bench]
fn decode_request_json(bencher: Bencher) {
    let line = encode_json(&request()).expect("the request encodes");
    bencher.bench_local(|| decode_request(Mode::Json, black_box(&line)));
}

#[divan::bench]
fn encode_answer_binary(bencher: Bencher) {
    let answer = answer();
    bencher.bench_local(|| encode_binary(black_box(&answer)));
}

#[divan::bench]
fn encode_answer_json(bencher: Bencher) {
    let answer = answer();
    bencher.bench_local(|| encode_json(black_box(&answer)));
}

#[divan::bench]
fn decode_answer_binary(bencher: Bencher) {
    let frame = encode_binary(&answer()).expect("the answer encodes");
    let body = &frame[LEN_PREFIX..];
    bencher.bench_local(|| decode_binary::<Response>(black_box(body)));
}

#[divan::bench]
fn decode_answer_json(bencher: Bencher) {
    let line = encode_json(&answer()).expect("the answer encodes");
    bencher.bench_local(|| decode_json::<Response>(black_box(&line)));
}
