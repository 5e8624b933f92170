//! The `ferrocache` binary: command-line parsing and wiring only.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ferrocache",
    version,
    about = "A self-hosted Amazon ElastiCache"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: the ElastiCache API, the console and the local provisioner.
    Serve(control::ServeArgs),
    /// Run one cache node (the control plane starts these; they also run on their own).
    Node(node::NodeArgs),
    /// Print the version.
    Version,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROCACHE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => control::serve(args),
        Command::Node(args) => node::run(args),
        Command::Version => {
            println!("ferrocache {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}
