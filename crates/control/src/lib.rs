//! The control plane: resources and their rules, the state store, the reconciler and the local
//! provisioner that runs `ferrocache node --managed` processes.
//!
//! ```text
//!   api (wire) ──▶ service ──▶ ops::* (rules) ──▶ plane (state + store, one transaction per write)
//!                                                     │ wakes
//!                                                     ▼
//!                                   reconciler ──▶ provisioner ──▶ node processes
//!                                   snapshots (worker) ──▶ provisioner (BGSAVE) ──▶ snapshot store
//! ```

pub mod catalog;
pub mod clock;
pub mod fault;
pub mod model;
pub mod ops;
pub mod plane;
pub mod provisioner;
pub mod reconciler;
pub mod replication;
pub mod rules;
pub mod service;
pub mod snapshots;
pub mod store;

use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

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
    /// Test only: read the control plane's clock from this file (an RFC 3339 instant, running
    /// on from there; rewrite it to move time). Windows, retention and event times follow it;
    /// request signatures still use the wall clock. Off unless given.
    #[arg(long, hide = true)]
    pub clock_file: Option<std::path::PathBuf>,
}

/// The API key pair: from `FERROCACHE_ACCESS_KEY_ID`/`FERROCACHE_SECRET_ACCESS_KEY`, else the one
/// saved in the data dir, else a new one (saved, and printed this once).
fn credentials(data_dir: &Path) -> anyhow::Result<(String, String)> {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("FERROCACHE_ACCESS_KEY_ID"),
        std::env::var("FERROCACHE_SECRET_ACCESS_KEY"),
    ) {
        return Ok((id, secret));
    }
    let path = data_dir.join("credentials");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .map(|v| v.trim().to_string())
        };
        if let (Some(id), Some(secret)) =
            (field("aws_access_key_id"), field("aws_secret_access_key"))
        {
            return Ok((id, secret));
        }
        anyhow::bail!("{} is not a credentials file", path.display());
    }
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let pick = |rng: &mut rand::rngs::ThreadRng, alphabet: &[u8], n: usize| -> String {
        (0..n)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
            .collect()
    };
    let id = format!(
        "AKIA{}",
        pick(&mut rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let secret = pick(
        &mut rng,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        40,
    );
    let text = format!("[default]\naws_access_key_id={id}\naws_secret_access_key={secret}\n");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    println!("Generated API credentials (saved in {}):", path.display());
    println!("  AWS_ACCESS_KEY_ID={id}");
    println!("  AWS_SECRET_ACCESS_KEY={secret}");
    Ok((id, secret))
}

/// Holds an exclusive lock on the data dir for the life of `serve`: two control planes on one
/// state would each take the other's nodes for orphans.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let path = data_dir.join("serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        anyhow::bail!(
            "another `ferrocache serve` is using {} (lock {} is held)",
            data_dir.display(),
            path.display()
        );
    }
    Ok(file)
}

/// Runs the control plane until interrupted: the API, the reconciler and the local nodes.
/// Nodes keep running when `serve` stops; the next `serve` finds them again.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let _lock = lock_data_dir(&data_dir)?;
    let (access_key_id, secret) = credentials(&data_dir)?;
    let store = store::SqliteStore::open(&data_dir.join("state.db"))?;
    let clock: Arc<dyn clock::Clock> = match &args.clock_file {
        Some(path) => {
            let c = clock::FileClock::open(path.clone())?;
            tracing::warn!(file = %path.display(), now = %clock::Clock::now(&c), "the control plane runs on a test clock read from a file");
            Arc::new(c)
        }
        None => Arc::new(clock::SystemClock),
    };
    let settings = plane::Settings {
        region: args.region.clone(),
        account_id: args.account_id.clone(),
        clock,
        address_free: plane::address_free_by_binding,
    };
    let plane = Arc::new(plane::ControlPlane::open(Box::new(store), settings)?);
    let exe = std::env::current_exe().context("finding this executable")?;
    let provisioner = Arc::new(provisioner::LocalProvisioner::new(exe, &data_dir)?);
    reconciler::Reconciler::new(plane.clone(), provisioner.clone()).spawn();
    snapshots::Snapshotter::new(plane.clone(), provisioner, &data_dir)
        .context("opening the snapshot store")?
        .spawn();

    let config = api::ApiConfig::new(
        api::Auth::keys([(access_key_id, secret)]),
        args.account_id.clone(),
    );
    let app = api::router(Arc::new(service::Service::new(plane)), config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        tracing::info!(listen = %args.listen, data_dir = %data_dir.display(), region = %args.region, "ferrocache control plane ready");
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
