//! `wrs-mock`: runs the mock authorization server and Windchill stand-in
//! until SIGTERM or SIGINT.
//!
//! The first line on stdout is `WRS_MOCK_READY {json}` (a
//! [`wrs_mock::ReadyMessage`]: URLs, CA file, clients, users), written once
//! the socket is bound, so a harness can spawn the binary and wait for it; a human-readable summary follows. Logs go to
//! stderr (`RUST_LOG` or `-v`).
//!
//! The guided demo and its headless browser are not here: they are the
//! `wrs-demo` crate, which runs this server in-process.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use wrs_mock::{MockConfig, MockServer, ReadyMessage};

/// A PingFederate-like authorization server and Windchill REST Services
/// stand-in, with fault injection, for tests, benchmarks and demos.
///
/// It serves until SIGTERM or SIGINT.
#[derive(Debug, Parser)]
#[command(name = "wrs-mock", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9031")]
    listen: SocketAddr,
    /// Serve HTTPS with a CA generated at start.
    #[arg(long)]
    tls: bool,
    /// Write the generated CA certificate (PEM) here [default with --tls: a file in the temp dir].
    #[arg(long, value_name = "PATH", requires = "tls")]
    ca_out: Option<PathBuf>,
    /// Access-token lifetime in seconds (at least 1).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    access_token_lifetime: u64,
    /// A refresh token unused this many seconds expires.
    #[arg(long, value_name = "SECS", default_value_t = 7 * 24 * 3600)]
    refresh_token_idle_lifetime: u64,
    /// A grant's refresh tokens expire this many seconds after login.
    #[arg(long, value_name = "SECS", default_value_t = 30 * 24 * 3600)]
    refresh_token_max_lifetime: u64,
    /// Issue a new refresh token on every refresh.
    #[arg(long)]
    roll_refresh_tokens: bool,
    /// Seconds a rolled refresh token keeps working.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    roll_grace_period: u64,
    /// Reusing a rolled refresh token after its grace period revokes the grant.
    #[arg(long)]
    revoke_grant_on_reuse: bool,
    /// Without rolling, leave refresh_token out of refresh responses.
    #[arg(long)]
    no_echo_refresh_token: bool,
    /// Approve authorization requests at once as user `demo` (no login page).
    #[arg(long)]
    auto_approve: bool,
    /// Do not send `iss` in authorization responses (RFC 9207).
    #[arg(long)]
    no_iss: bool,
    /// Issuer path below the base URL, e.g. /tenant1.
    #[arg(long, value_name = "PATH", default_value = "")]
    issuer_path: String,
    /// Device-code lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    device_code_lifetime: u64,
    /// Device-grant polling interval in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    device_interval: u64,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

impl Args {
    fn config(&self) -> MockConfig {
        MockConfig::default()
            .listen(self.listen)
            .tls(self.tls)
            .access_token_lifetime(Duration::from_secs(self.access_token_lifetime.max(1)))
            .refresh_token_idle_lifetime(Duration::from_secs(self.refresh_token_idle_lifetime))
            .refresh_token_max_lifetime(Duration::from_secs(self.refresh_token_max_lifetime))
            .roll_refresh_tokens(self.roll_refresh_tokens)
            .roll_grace_period(Duration::from_secs(self.roll_grace_period))
            .revoke_grant_on_reuse(self.revoke_grant_on_reuse)
            .echo_refresh_token(!self.no_echo_refresh_token)
            .auto_approve(self.auto_approve)
            .send_iss_in_authz_response(!self.no_iss)
            .issuer_path(self.issuer_path.clone())
            .device_code_lifetime(Duration::from_secs(self.device_code_lifetime))
            .device_poll_interval(Duration::from_secs(self.device_interval))
    }
}

fn main() {
    let args = Args::parse();
    init_logging(args.verbose);
    if let Err(e) = run(args) {
        eprintln!("wrs-mock: {e:#}");
        std::process::exit(1);
    }
}

/// Logs on stderr: `RUST_LOG`, else warnings (-v info, -vv debug).
fn init_logging(verbose: u8) {
    let filter = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .init();
}

fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mock = MockServer::start(args.config()).await?;
    let ca_file = match mock.ca_pem() {
        Some(pem) => {
            let path = args.ca_out.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("wrs-mock-ca-{}.pem", std::process::id()))
            });
            std::fs::write(&path, pem).with_context(|| {
                format!("cannot write the CA certificate to {}", path.display())
            })?;
            Some(path)
        }
        None => None,
    };
    announce(&mock, ca_file.as_deref());
    wait_for_signal().await?;
    tracing::info!("shutting down");
    mock.shutdown();
    Ok(())
}

fn announce(mock: &MockServer, ca_file: Option<&std::path::Path>) {
    let config = mock.config();
    let ready = ReadyMessage::new(mock, ca_file);
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server: write errors are ignored.
    let _ = writeln!(out, "{}", ready.to_line());
    let _ = out.flush();
    let _ = writeln!(out, "wrs-mock serving on {}", mock.base_url());
    let _ = writeln!(out, "  issuer             {}", mock.issuer());
    let _ = writeln!(out, "  discovery          {}", mock.discovery_url());
    let _ = writeln!(
        out,
        "  authorization      {}",
        mock.authorization_endpoint()
    );
    let _ = writeln!(out, "  token              {}", mock.token_endpoint());
    let _ = writeln!(
        out,
        "  device             {}",
        mock.device_authorization_endpoint()
    );
    let _ = writeln!(
        out,
        "  device user page   {}",
        mock.device_verification_uri()
    );
    let _ = writeln!(out, "  revocation         {}", mock.revocation_endpoint());
    let _ = writeln!(
        out,
        "  introspection      {}",
        mock.introspection_endpoint()
    );
    let _ = writeln!(out, "  Windchill OData    {}", mock.wrs_root());
    let _ = writeln!(out, "  admin              {}", mock.admin_url());
    if let Some(ca) = ca_file {
        let _ = writeln!(out, "  CA certificate     {}", ca.display());
    }
    let _ = writeln!(out, "clients:");
    for c in &config.clients {
        let kinds: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        let _ = writeln!(
            out,
            "  {:<20} secret {:<24} grants [{}]",
            c.id,
            c.secret.as_deref().unwrap_or("(public, PKCE)"),
            kinds.join(", ")
        );
    }
    let _ = writeln!(out, "users:");
    for u in &config.users {
        let _ = writeln!(out, "  {} / {}", u.username, u.password);
    }
    let _ = out.flush();
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")
}
