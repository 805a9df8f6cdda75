//! Throughput of the incremental ticket export over real loopback HTTP.
//!
//! Starts a simulator with 100,000 tickets (override with `ZD_BENCH_TICKETS`), walks the whole
//! cursor-based export (`per_page=1000`) on one keep-alive connection, several times
//! (`ZD_BENCH_RUNS`, default 5), and prints tickets per second for each run and the median.
//! The client reads each page fully and deserialises it just enough to count the tickets and
//! follow `after_url`.
//!
//! Run: `cargo bench -p zendesk-sim --bench export_throughput`

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::de::IgnoredAny;
use serde::Deserialize;
use tokio::net::TcpStream;
use zendesk_sim::{SimConfig, Simulator};

#[derive(Deserialize)]
struct Page {
    tickets: Vec<IgnoredAny>,
    after_url: String,
    end_of_stream: bool,
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let tickets = env_or("ZD_BENCH_TICKETS", 100_000);
    let runs = env_or("ZD_BENCH_RUNS", 5);
    let generated = Instant::now();
    let sim = Simulator::start(SimConfig {
        tickets,
        users: 2_000,
        organizations: 200,
        ..SimConfig::default()
    })
    .await?;
    println!(
        "generated {tickets} tickets in {:.2} s",
        generated.elapsed().as_secs_f64()
    );
    let auth = sim.admin_credentials("acme").authorization();
    let mut rates = Vec::new();
    for run in 1..=runs {
        let stream = TcpStream::connect(sim.http_addr()).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(connection);
        let mut path =
            "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1000".to_string();
        let (mut seen, mut bytes) = (0usize, 0usize);
        let started = Instant::now();
        loop {
            let request = Request::get(&path)
                .header("host", "acme.zendesk.com")
                .header("authorization", &auth)
                .body(Empty::<Bytes>::new())?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            anyhow::ensure!(response.status() == 200, "status {}", response.status());
            let body = response.into_body().collect().await?.to_bytes();
            bytes += body.len();
            let page: Page = serde_json::from_slice(&body)?;
            seen += page.tickets.len();
            if page.end_of_stream {
                break;
            }
            let url = page.after_url;
            path = url[url.find("/api/").unwrap_or(0)..].to_string();
        }
        let secs = started.elapsed().as_secs_f64();
        anyhow::ensure!(seen == tickets, "exported {seen} of {tickets} tickets");
        let rate = seen as f64 / secs;
        println!(
            "run {run}: {seen} tickets, {:.1} MB in {secs:.2} s = {rate:.0} tickets/s",
            bytes as f64 / 1e6
        );
        rates.push(rate);
        drop(sender);
        let _ = driver.await;
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median of {runs} runs: {:.0} tickets/s (min {:.0}, max {:.0})",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1]
    );
    sim.shutdown().await;
    Ok(())
}
