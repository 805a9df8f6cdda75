//! `zendesk-sim`: serve the simulated Zendesk API, or dump the dataset it would serve.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use zendesk_sim::{RateLimits, SimConfig, Simulator};

#[derive(Parser)]
#[command(version, about = "A simulator of the Zendesk Support API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API over HTTPS and HTTP on 127.0.0.1 until interrupted.
    Serve {
        #[command(flatten)]
        dataset: Dataset,
        /// Port of the HTTPS listener (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port_https: u16,
        /// Port of the plain HTTP listener (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port_http: u16,
        /// Rate limit plan: team, growth, professional, enterprise, high-volume, or a number of
        /// requests per minute (off when absent).
        #[arg(long)]
        rate_limits: Option<String>,
        /// Leave `Retry-After` out of 429 responses.
        #[arg(long)]
        no_retry_after: bool,
        /// Speed of the simulated clock (60 makes a minute last a second).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Where to write the CA certificate (PEM).
        #[arg(long)]
        ca_out: Option<PathBuf>,
        /// Refuse API token authentication (as when token access is disabled).
        #[arg(long)]
        no_token_access: bool,
    },
    /// Print the expected dataset (ids and versions per kind, deletions) as JSON.
    GroundTruth {
        #[command(flatten)]
        dataset: Dataset,
    },
}

/// Flags that shape the generated dataset.
#[derive(Args)]
struct Dataset {
    /// Tickets per account.
    #[arg(long, default_value_t = SimConfig::default().tickets)]
    tickets: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = SimConfig::default().seed)]
    seed: u64,
    /// Average comments per ticket.
    #[arg(long, default_value_t = SimConfig::default().comments_per_ticket)]
    comments_per_ticket: usize,
    /// Users per account.
    #[arg(long, default_value_t = SimConfig::default().users)]
    users: usize,
    /// Organizations per account.
    #[arg(long, default_value_t = SimConfig::default().organizations)]
    organizations: usize,
    /// Days of history before the start.
    #[arg(long, default_value_t = SimConfig::default().history_days)]
    history_days: u32,
    /// Share of the tickets archived (closed more than 120 days before the start).
    #[arg(long, default_value_t = SimConfig::default().archived_share)]
    archived_share: f64,
    /// Account subdomains, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "acme")]
    accounts: Vec<String>,
    /// Unix time the simulated clock starts at (default: now); fix it for reproducible
    /// timestamps.
    #[arg(long)]
    epoch: Option<i64>,
}

impl Dataset {
    fn config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            tickets: self.tickets,
            comments_per_ticket: self.comments_per_ticket,
            users: self.users,
            organizations: self.organizations,
            accounts: self.accounts.clone(),
            history_days: self.history_days,
            archived_share: self.archived_share,
            epoch: self.epoch,
            ..SimConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::GroundTruth { dataset } => {
            let truth = zendesk_sim::ground_truth(&dataset.config());
            serde_json::to_writer(std::io::stdout().lock(), &truth)?;
            println!();
        }
        Command::Serve {
            dataset,
            port_https,
            port_http,
            rate_limits,
            no_retry_after,
            time_scale,
            ca_out,
            no_token_access,
        } => {
            let rate_limits = rate_limits
                .map(|plan| {
                    RateLimits::plan(&plan)
                        .map(|l| RateLimits {
                            send_retry_after: !no_retry_after,
                            ..l
                        })
                        .with_context(|| format!("unknown rate limit plan {plan:?}"))
                })
                .transpose()?;
            let config = SimConfig {
                https_port: port_https,
                http_port: port_http,
                rate_limits,
                time_scale,
                ca_cert_path: ca_out,
                token_access_enabled: !no_token_access,
                ..dataset.config()
            };
            let sim = Simulator::start(config).await?;
            println!("https: {}", sim.https_addr());
            println!("http:  {}", sim.http_addr());
            println!("ca:    {}", sim.ca_cert_path().display());
            for account in sim.accounts() {
                let admin = sim.admin_credentials(&account);
                let oauth = sim.oauth_client(&account);
                println!("account {account}: Host {account}.zendesk.com");
                println!("  admin email:   {}", admin.email);
                println!("  api token:     {}", admin.api_token);
                println!("  authorization: {}", admin.authorization());
                println!(
                    "  oauth client:  {} / {}",
                    oauth.client_id, oauth.client_secret
                );
                println!("  refresh token: {}", oauth.refresh_token);
            }
            println!("serving; Ctrl-C stops");
            tokio::signal::ctrl_c().await?;
            sim.shutdown().await;
        }
    }
    Ok(())
}
