//! `yizhan`: one binary for every Yizhan node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use yizhan_core::RegionCode;
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, UploadLimits};
use yizhan_store::{Db, StoreConfig};

#[derive(Parser)]
#[command(name = "yizhan", version, about = "驿站: offline-first village science-station kiosk and hubs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DataArgs {
    /// Where the database and media live (default: the platform data directory).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a village kiosk: the web UI and API over the local store, fully offline.
    Kiosk {
        #[command(flatten)]
        data: DataArgs,
        /// Address to serve on. Use 0.0.0.0:8080 to let tablets on the station's network in.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The region this kiosk serves: a county (6 digits), town (9) or village (12) code.
        #[arg(long, default_value = "510131")]
        region: String,
        /// The key for sensitive fields (default: keys/field.key beside the data, created on first start).
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        /// Load demo cases into an empty kiosk.
        #[arg(long)]
        demo: bool,
    },
    /// Check a store: SQLite integrity and every blob against its hash.
    Check {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rebuild the query tables from the documents.
    RebuildProjections {
        #[command(flatten)]
        data: DataArgs,
    },
}

fn data_dir(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = arg {
        return Ok(dir);
    }
    let dirs = directories::ProjectDirs::from("cn", "Sichuan", "Yizhan")
        .context("cannot find a home directory for the default data directory; pass --data-dir")?;
    Ok(dirs.data_dir().to_path_buf())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,yizhan=info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Kiosk { data, listen, region, key_file, demo } => {
            let data_dir = data_dir(data.data_dir)?;
            std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            let scope = RegionCode::parse(&region).with_context(|| format!("--region {region}"))?;
            let key_file = key_file.unwrap_or_else(|| data_dir.join("keys").join("field.key"));
            let config =
                KioskConfig {
                data_dir: data_dir.clone(),
                key_file,
                listen,
                scope,
                limits: UploadLimits::default(),
                node_id: None,
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let state = AppState::open(config, Arc::new(SystemClock))?;
                if demo {
                    let n = yizhan_kiosk::demo::load_if_empty(&state)
                        .await
                        .map_err(|e| anyhow::anyhow!("loading demo cases: {e}"))?;
                    if n > 0 {
                        tracing::info!(cases = n, "loaded demo cases");
                    }
                }
                let listener =
                    tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
                let addr = listener.local_addr()?;
                println!("驿站 kiosk ready: http://{addr}/  (data: {})", data_dir.display());
                yizhan_kiosk::serve(state, listener).await?;
                Ok(())
            })
        }
        Command::Check { data } => {
            let db = Db::open(StoreConfig::new(data_dir(data.data_dir)?))?;
            let integrity = db.integrity_check()?;
            let mut bad = 0;
            let hashes = db.blob_hashes()?;
            for h in &hashes {
                if let Err(e) = db.verify_blob(h) {
                    println!("blob {h}: {e}");
                    bad += 1;
                }
            }
            let stats = db.stats()?;
            println!("sqlite: {integrity}; documents: {}; blobs: {} ({} bad)", stats.docs, hashes.len(), bad);
            if integrity != "ok" || bad > 0 {
                bail!("store check failed");
            }
            Ok(())
        }
        Command::RebuildProjections { data } => {
            let mut db = Db::open(StoreConfig::new(data_dir(data.data_dir)?))?;
            let n = db.rebuild_projections()?;
            println!("rebuilt projections of {n} documents");
            Ok(())
        }
    }
}
