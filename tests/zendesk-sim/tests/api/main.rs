//! End-to-end tests of the simulator over real sockets.

mod archiving;
mod audits;
mod auth;
mod cli;
mod client;
mod exports;
mod faults;
mod fidelity;
mod limits;
mod lists;
mod shapes;

use client::Client;
use zendesk_sim::{SimConfig, SimHandle, Simulator};

/// A small dataset that still has every kind of object.
fn small() -> SimConfig {
    SimConfig {
        tickets: 150,
        comments_per_ticket: 3,
        users: 40,
        organizations: 8,
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    Simulator::start(config).await.expect("simulator starts")
}

/// An HTTPS client authenticated as the admin of `acme`.
fn admin(sim: &SimHandle) -> Client {
    Client::https(sim, "acme").with_auth(sim.admin_credentials("acme").authorization())
}
