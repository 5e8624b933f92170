//! The control plane: resources and their rules, the state store, the reconciler and the local
//! provisioner that runs `ferrocache node --managed` processes.
//!
//! ```text
//!   api (wire) ──▶ service ──▶ ops::* (rules) ──▶ plane (state + store, one transaction per write)
//!                                                     │ wakes
//!                                                     ▼
//!                                   reconciler ──▶ provisioner ──▶ node processes
//! ```

pub mod catalog;
pub mod clock;
pub mod fault;
pub mod model;
pub mod ops;
pub mod plane;
pub mod provisioner;
pub mod reconciler;
pub mod rules;
pub mod store;

/// Options of `ferrocache serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address of the ElastiCache API and the web console.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Where the state database, node data and snapshots live.
    #[arg(long, default_value = "./ferrocache-data")]
    pub data_dir: std::path::PathBuf,
    /// The region this control plane pretends to be; it has three Availability Zones.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// The account id used in ARNs.
    #[arg(long, default_value = "123456789012")]
    pub account_id: String,
}

/// Runs the control plane until interrupted.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "the control plane is not built yet (issue 4); asked to listen on {}",
        args.listen
    )
}
