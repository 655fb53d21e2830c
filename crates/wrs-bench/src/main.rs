//! `wrs-bench`: a load generator for a running `wrs-tokend`.
//!
//! It starts nothing. It asks the daemon at `--socket` (else
//! `WRS_TOKEN_SOCKET`, else the per-user default) for a token of
//! `--profile`, as fast as it can, over `--connections` connections
//! (default 64), in one or more of three ways (`--mode`, default all):
//!
//! - `binary`: each thread keeps one connection and sends length-prefixed
//!   bincode frames on it, one request at a time, as `wrs-token` frames
//!   them;
//! - `json`: the same with newline-delimited JSON (an IDE plugin);
//! - `connect`: each thread opens a new connection for every request and
//!   closes it after the answer, as every `wrs-token print` does (without
//!   the process start).
//!
//! For each mode it prints one row: requests answered with a token in the
//! measured window, errors, requests per second, and the median and 99th
//! percentile of the time from sending a request to having its answer.
//! Requests in the first `--warmup-ms` are not counted.
//!
//! The daemon should hold a cached token, or the numbers measure the
//! authorization server. `scripts/bench` starts one with the hidden test
//! source and runs this binary against it:
//!
//! ```text
//! wrs-tokend --socket /tmp/b/agent.sock --test-source profile=bench,lifetime=3600
//! cargo run -p wrs-bench --release -- --socket /tmp/b/agent.sock --profile bench
//! ```
//!
//! By default each connection has a thread of its own that blocks on its
//! answer, as 64 separate client processes would. `--threads N` spreads
//! the connections over N threads instead, each driving its share with
//! non-blocking I/O (a tokio runtime per thread), as one process with many
//! connections does. The client threads share the machine with the daemon:
//! on a small machine 64 busy threads mostly measure the scheduler sharing
//! the cores among them, so the numbers are a floor for what the daemon
//! can do, and `--threads 1` shows its latency with the clients' own
//! scheduling taken out.
//! The daemon serves 64 connections at once by default (its
//! `--max-connections`); more persistent connections than that evict each
//! other. Unix only (a Unix domain socket).

use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(unix)]
    {
        unix::main()
    }
    #[cfg(not(unix))]
    {
        eprintln!("wrs-bench: only Unix domain sockets are supported");
        ExitCode::FAILURE
    }
}

#[cfg(unix)]
mod unix {
    use std::io::{BufReader, Write};
    use std::os::unix::net::UnixStream;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::sync::{Arc, Barrier, OnceLock};
    use std::time::{Duration, Instant};

    use clap::{Parser, ValueEnum};
    use wrs_proto::frame::{
        decode_binary, decode_json, encode_binary, encode_json, read_frame, read_json_line,
    };
    use wrs_proto::{Request, RequestEnvelope, Response, WireError};

    /// Load on a running wrs-tokend: requests/s, p50 and p99 per way of asking.
    #[derive(Debug, Parser)]
    #[command(name = "wrs-bench")]
    struct Args {
        /// The daemon's socket [default: the per-user runtime directory's].
        #[arg(long, value_name = "PATH", env = wrs_sys::env::SOCKET)]
        socket: Option<PathBuf>,

        /// The profile to ask a token of [default: the daemon's default].
        #[arg(short, long, value_name = "NAME")]
        profile: Option<String>,

        /// Connections, each asking one request at a time.
        #[arg(short, long, value_name = "N", default_value_t = 64,
              value_parser = clap::value_parser!(u32).range(1..=4096))]
        connections: u32,

        /// Client threads to spread the connections over, each driving its
        /// share with non-blocking I/O [default: a blocking thread per
        /// connection].
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=4096))]
        threads: Option<u32>,

        /// Ways of asking, comma-separated.
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "binary,json,connect"
        )]
        mode: Vec<Mode>,

        /// Measured time per mode, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 5,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,

        /// Time per mode before measuring starts, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 500)]
        warmup_ms: u64,
    }

    /// A way of asking for a token.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
    enum Mode {
        /// Persistent connections, binary frames.
        Binary,
        /// Persistent connections, JSON lines.
        Json,
        /// A new connection (binary) for each request.
        Connect,
    }

    impl Mode {
        fn name(self) -> &'static str {
            match self {
                Mode::Binary => "binary",
                Mode::Json => "json",
                Mode::Connect => "connect",
            }
        }
    }

    /// What one client thread saw in the measured window.
    #[derive(Default)]
    struct Tally {
        /// Nanoseconds from sending each request to having its answer.
        latencies: Vec<u64>,
        errors: u64,
        /// The first error, for the report.
        first_error: Option<String>,
    }

    pub(super) fn main() -> ExitCode {
        let args = Args::parse();
        let socket = match args.socket.clone().filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => path,
            None => match wrs_sys::endpoint::Endpoint::resolve() {
                Ok(endpoint) => endpoint.socket,
                Err(e) => {
                    eprintln!("wrs-bench: {e}");
                    return ExitCode::FAILURE;
                }
            },
        };
        // The same rule as every client: never talk to a socket another
        // user could have put there.
        if let Err(e) = wrs_sys::private_dir::check_socket_dir(&socket) {
            eprintln!("wrs-bench: {}: {e}", socket.display());
            return ExitCode::FAILURE;
        }
        let request = RequestEnvelope::new(Request::GetToken {
            profile: args.profile.clone(),
            min_ttl_secs: None,
            env_min_ttl_secs: None,
        });
        let (binary, json) = match (encode_binary(&request), encode_json(&request)) {
            (Ok(binary), Ok(json)) => (binary, json),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("wrs-bench: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "{:<8} {:>11} {:>7} {:>10} {:>7} {:>9} {:>8} {:>8}",
            "mode", "connections", "threads", "requests", "errors", "req/s", "p50_ms", "p99_ms"
        );
        let mut all_ok = true;
        for mode in &args.mode {
            let frame = match mode {
                Mode::Json => json.clone(),
                Mode::Binary | Mode::Connect => binary.clone(),
            };
            let tallies = run(&args, &socket, *mode, frame);
            let mut latencies: Vec<u64> = Vec::new();
            let mut errors = 0;
            let mut first_error = None;
            for tally in tallies {
                latencies.extend(tally.latencies);
                errors += tally.errors;
                first_error = first_error.or(tally.first_error);
            }
            latencies.sort_unstable();
            let rate = latencies.len() as f64 / args.seconds as f64;
            println!(
                "{:<8} {:>11} {:>7} {:>10} {:>7} {:>9.0} {:>8.3} {:>8.3}",
                mode.name(),
                args.connections,
                args.threads().len(),
                latencies.len(),
                errors,
                rate,
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
            );
            if let Some(e) = first_error {
                eprintln!("wrs-bench: {}: first error: {e}", mode.name());
            }
            all_ok &= !latencies.is_empty();
        }
        if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    /// The `q` quantile of sorted nanoseconds, in milliseconds (nearest rank).
    fn percentile(sorted: &[u64], q: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64 / 1e6
    }

    impl Args {
        /// How many connections each client thread drives: one entry per
        /// thread, never more threads than connections.
        fn threads(&self) -> Vec<usize> {
            let connections = self.connections as usize;
            let threads = self
                .threads
                .map_or(connections, |t| t as usize)
                .min(connections);
            (0..threads)
                .map(|i| connections / threads + usize::from(i < connections % threads))
                .collect()
        }
    }

    /// The measured window: requests that start at or after the first
    /// instant count, and none starts after the second.
    type Window = (Instant, Instant);

    /// Runs one mode; the tallies of every connection.
    fn run(args: &Args, socket: &Path, mode: Mode, frame: Vec<u8>) -> Vec<Tally> {
        let frame: Arc<[u8]> = frame.into();
        let client = || Client::new(mode, socket.to_owned(), frame.clone());
        if args.threads.is_none() {
            // A thread per connection, blocking on its answer.
            return on_threads(
                args,
                |_| {
                    let mut client = client();
                    if mode != Mode::Connect {
                        // A failure here is retried by the first request.
                        let _ = client.connect();
                    }
                    client
                },
                |mut client, (count_from, end)| {
                    client.run(count_from, end);
                    vec![client.tally]
                },
            );
        }
        // Each thread a tokio runtime of its own, driving its share.
        on_threads(
            args,
            |share| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                    .map_err(|e| Tally::failed(format!("runtime: {e}")))?;
                let mut clients: Vec<_> = (0..share).map(|_| client().nonblocking()).collect();
                if mode != Mode::Connect {
                    runtime.block_on(async {
                        for client in &mut clients {
                            // A failure here is retried by the first request.
                            let _ = client.connect().await;
                        }
                    });
                }
                Ok((runtime, clients))
            },
            |prepared, (count_from, end)| {
                let (runtime, clients) = match prepared {
                    Ok(prepared) => prepared,
                    Err(failed) => return vec![failed],
                };
                runtime.block_on(async {
                    let mut tasks = tokio::task::JoinSet::new();
                    for client in clients {
                        tasks.spawn(client.run(count_from, end));
                    }
                    tasks.join_all().await
                })
            },
        )
    }

    /// Runs a client thread per entry of [`Args::threads`], given its share
    /// of connections: `prepare` connects them, and once every thread is
    /// ready, `drive` asks within the window, which starts then (after the
    /// warm-up). Their tallies, all together.
    fn on_threads<P: Send>(
        args: &Args,
        prepare: impl Fn(usize) -> P + Sync,
        drive: impl Fn(P, Window) -> Vec<Tally> + Sync,
    ) -> Vec<Tally> {
        let shares = args.threads();
        let ready = Barrier::new(shares.len() + 1);
        let window: OnceLock<Window> = OnceLock::new();
        std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    let (ready, window, prepare, drive) = (&ready, &window, &prepare, &drive);
                    scope.spawn(move || {
                        let prepared = prepare(share);
                        ready.wait();
                        ready.wait();
                        window
                            .get()
                            .map_or_else(Vec::new, |&window| drive(prepared, window))
                    })
                })
                .collect();
            ready.wait();
            let count_from = Instant::now() + Duration::from_millis(args.warmup_ms);
            let _ = window.set((count_from, count_from + Duration::from_secs(args.seconds)));
            ready.wait();
            handles
                .into_iter()
                .filter_map(|h| h.join().ok())
                .flatten()
                .collect()
        })
    }

    impl Tally {
        fn failed(error: String) -> Self {
            Tally {
                latencies: Vec::new(),
                errors: 1,
                first_error: Some(error),
            }
        }

        /// Counts one request sent at `sent` that ended with `outcome`.
        fn count(&mut self, sent: Instant, outcome: Result<(), String>) {
            match outcome {
                Ok(()) => {
                    let nanos = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    self.latencies.push(nanos);
                }
                Err(e) => {
                    self.errors += 1;
                    self.first_error.get_or_insert(e);
                }
            }
        }
    }

    /// What an answer must be: a token.
    fn expect_token(answer: Result<Response, WireError>) -> Result<(), String> {
        match answer.map_err(|e| e.to_string())? {
            Response::Token(_) => Ok(()),
            Response::Error(e) => Err(format!("{:?}: {}", e.kind, e.message)),
            other => Err(format!("unexpected answer: {other:?}")),
        }
    }

    /// One connection and its tally; `S` is its stream, blocking
    /// (`BufReader<UnixStream>`) or driven by a tokio runtime
    /// ([`nonblocking`]). A connection the daemon closed (its idle limit)
    /// or that failed is opened again on the next request; in `connect`
    /// mode every request opens its own.
    struct Client<S = BufReader<UnixStream>> {
        mode: Mode,
        socket: PathBuf,
        frame: Arc<[u8]>,
        stream: Option<S>,
        tally: Tally,
    }

    impl<S> Client<S> {
        /// Whether the next request needs a new connection first.
        fn needs_connection(&self) -> bool {
            self.stream.is_none() || self.mode == Mode::Connect
        }

        /// After a request: whether its connection is kept for the next.
        fn keeps_connection(&self, ok: bool) -> bool {
            ok && self.mode != Mode::Connect
        }
    }

    impl Client {
        fn new(mode: Mode, socket: PathBuf, frame: Arc<[u8]>) -> Self {
            Client {
                mode,
                socket,
                frame,
                stream: None,
                tally: Tally::default(),
            }
        }

        /// The same connection, to be driven by a tokio runtime.
        fn nonblocking(self) -> nonblocking::Client {
            Client {
                mode: self.mode,
                socket: self.socket,
                frame: self.frame,
                stream: None,
                tally: self.tally,
            }
        }

        fn connect(&mut self) -> Result<(), WireError> {
            self.stream = Some(BufReader::new(UnixStream::connect(&self.socket)?));
            Ok(())
        }

        /// Asks until `end`, counting what starts at or after `count_from`.
        fn run(&mut self, count_from: Instant, end: Instant) {
            loop {
                let sent = Instant::now();
                if sent >= end {
                    return;
                }
                let outcome = self.ask();
                if sent >= count_from {
                    self.tally.count(sent, outcome);
                }
            }
        }

        /// One request and its answer.
        fn ask(&mut self) -> Result<(), String> {
            if self.needs_connection() {
                self.connect().map_err(|e| e.to_string())?;
            }
            let result = self.exchange();
            if !self.keeps_connection(result.is_ok()) {
                self.stream = None;
            }
            expect_token(result)
        }

        fn exchange(&mut self) -> Result<Response, WireError> {
            let Some(stream) = self.stream.as_mut() else {
                return Err(WireError::Truncated);
            };
            stream.get_mut().write_all(&self.frame)?;
            match self.mode {
                Mode::Binary | Mode::Connect => {
                    let body = read_frame(stream)?.ok_or(WireError::Truncated)?;
                    decode_binary(&body)
                }
                Mode::Json => {
                    let line = read_json_line(stream)?.ok_or(WireError::Truncated)?;
                    decode_json(&line)
                }
            }
        }
    }

    /// A connection driven by a tokio runtime shared with other connections.
    mod nonblocking {
        use std::time::Instant;

        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        use tokio::net::UnixStream;
        use wrs_proto::frame::{LEN_PREFIX, body_len, decode_binary, decode_json};
        use wrs_proto::{Response, WireError};

        use super::{Mode, Tally, expect_token};

        /// [`super::Client`] on a tokio stream.
        pub(super) type Client = super::Client<BufReader<UnixStream>>;

        impl Client {
            pub(super) async fn connect(&mut self) -> Result<(), WireError> {
                self.stream = Some(BufReader::new(UnixStream::connect(&self.socket).await?));
                Ok(())
            }

            /// Asks until `end`, counting what starts at or after `count_from`.
            pub(super) async fn run(mut self, count_from: Instant, end: Instant) -> Tally {
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        return self.tally;
                    }
                    let outcome = self.ask().await;
                    if sent >= count_from {
                        self.tally.count(sent, outcome);
                    }
                }
            }

            /// One request and its answer.
            async fn ask(&mut self) -> Result<(), String> {
                if self.needs_connection() {
                    self.connect().await.map_err(|e| e.to_string())?;
                }
                let result = self.exchange().await;
                if !self.keeps_connection(result.is_ok()) {
                    self.stream = None;
                }
                expect_token(result)
            }

            async fn exchange(&mut self) -> Result<Response, WireError> {
                let Some(stream) = self.stream.as_mut() else {
                    return Err(WireError::Truncated);
                };
                stream.get_mut().write_all(&self.frame).await?;
                match self.mode {
                    Mode::Binary | Mode::Connect => {
                        let mut prefix = [0u8; LEN_PREFIX];
                        stream.read_exact(&mut prefix).await?;
                        let mut body = vec![0u8; body_len(prefix)?];
                        stream.read_exact(&mut body).await?;
                        decode_binary(&body)
                    }
                    Mode::Json => {
                        let mut line = Vec::new();
                        if stream.read_until(b'\n', &mut line).await? == 0 {
                            return Err(WireError::Truncated);
                        }
                        decode_json(&line)
                    }
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use clap::Parser;

        use super::{Args, percentile};

        #[test]
        fn connections_are_spread_evenly_over_at_most_as_many_threads() {
            let shares = |args: &[&str]| {
                let mut argv = vec!["wrs-bench"];
                argv.extend_from_slice(args);
                Args::parse_from(argv).threads()
            };
            assert_eq!(shares(&["-c", "4"]), [1, 1, 1, 1]);
            assert_eq!(shares(&["-c", "64", "--threads", "3"]), [22, 21, 21]);
            assert_eq!(shares(&["-c", "64", "--threads", "1"]), [64]);
            assert_eq!(shares(&["-c", "2", "--threads", "8"]), [1, 1]);
        }

        #[test]
        fn percentiles_are_nearest_rank_in_milliseconds() {
            let sorted: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
            assert_eq!(percentile(&sorted, 0.50), 50.0);
            assert_eq!(percentile(&sorted, 0.99), 99.0);
            assert_eq!(percentile(&sorted[..1], 0.99), 1.0);
            assert!(percentile(&[], 0.5).is_nan());
        }
    }
}
