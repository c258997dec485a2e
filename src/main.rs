//! `yizhan`: one binary for every Yizhan node.

mod config;
mod demo;
mod demo_breaker;
mod demo_featured;
mod demo_history;
mod demo_industry;
mod demo_lectures;
mod demo_market;
mod demo_showcase;
mod demo_subsidies;
mod demo_targets;
mod nodes;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use yizhan_store::{Db, StoreConfig};

#[derive(Parser)]
#[command(name = "yizhan", version, about = "驿站: offline-first village science-station kiosk and hubs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct DataArgs {
    /// Where the database, media and certificates live (default: the platform data directory).
    #[arg(long, value_name = "DIR", env = "YIZHAN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a village kiosk: the web UI and API over the local store, fully offline; syncs with
    /// its county hub when `--hub` is given and it is enrolled.
    Kiosk(nodes::KioskArgs),
    /// Enrol this kiosk with its county hub using a one-time code from the county operator.
    Enrol {
        #[command(flatten)]
        data: DataArgs,
        /// The hub's web address, e.g. http://192.168.1.10:8091
        #[arg(long)]
        hub_url: String,
        /// The code the county operator gave you (e.g. ABCDE-FGHJK).
        #[arg(long)]
        code: String,
        /// This kiosk's node id: lowercase letters, digits and dashes.
        #[arg(long)]
        node_id: String,
        /// The village (12 digits) or town (9) this kiosk serves.
        #[arg(long)]
        region: String,
    },
    /// Run a hub (county, city or province): accepts its children, syncs with its parent.
    Hub(nodes::HubArgs),
    /// Issue a one-time enrolment code for a new kiosk (run on the hub's machine).
    EnrolCode {
        #[command(flatten)]
        data: DataArgs,
        /// The village or town the kiosk will serve.
        #[arg(long)]
        scope: String,
        /// Bind the code to one node id.
        #[arg(long)]
        node_id: Option<String>,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 24)]
        hours: u64,
    },
    /// Issue the HTTPS certificate of a kiosk's web UI (run on the county hub's machine): writes
    /// web.pem and web.key (mode 0600) into --out, to be copied into the kiosk's pki/ directory.
    WebCert {
        #[command(flatten)]
        data: DataArgs,
        /// The kiosk's node id, as enrolled.
        #[arg(long)]
        node_id: String,
        /// The village or town the kiosk serves, as enrolled.
        #[arg(long)]
        scope: String,
        /// Host names and IP addresses the station's tablets reach the kiosk by, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        names: Vec<String>,
        /// Where to write web.pem and web.key.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Revoke a node's certificate (run on the hub or province that issued it); the signed list
    /// syncs down to every node, which then refuses the node at its next connection.
    Revoke {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        node_id: String,
    },
    /// Create the province's certificate authority in a hub data directory.
    CaInit {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value = "province")]
        node_id: String,
    },
    /// On a new city or county hub's machine: make its CA key (it never leaves the machine) and
    /// a signing request to carry to the province (`ca-sign`), then install the answer
    /// (`ca-install`).
    CaRequest {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        node_id: String,
        /// City (4 digits) or county (6) code.
        #[arg(long)]
        scope: String,
    },
    /// Where the province's CA is kept (its directory, which need not be the live hub's): sign a
    /// hub's request; writes the answer (`ca.pem`, `roots.pem`) into a new directory.
    CaSign {
        /// The directory holding the province CA (`pki/ca.pem`, `pki/ca.key`).
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// The hub's request (`ca-request.csr`).
        #[arg(long, value_name = "FILE")]
        csr: PathBuf,
        /// Where to write the answer, to carry back to the hub.
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// On the hub's machine: install the province's answer to its pending request as its CA.
    CaInstall {
        #[command(flatten)]
        data: DataArgs,
        /// The directory `ca-sign` wrote.
        #[arg(long, value_name = "DIR")]
        answer: PathBuf,
    },
    /// Create a city or county hub's certificate authority, signed by the province CA, on the
    /// province's machine (the key is carried to the hub: for a test or a single machine;
    /// `ca-request` keeps it on the hub).
    CaAddHub {
        /// The province hub's data directory.
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// The new hub's data directory.
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
        #[arg(long)]
        node_id: String,
        /// City (4 digits) or county (6) code.
        #[arg(long)]
        scope: String,
    },
    /// Start a province hub, a county hub and two kiosks on this machine, with certificates
    /// made on the fly and demo cases: record a case on a kiosk and watch it reach the province.
    Demo {
        #[command(flatten)]
        data: DataArgs,
        /// First of the four web ports (kiosk A, kiosk B, county hub, province hub).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Evaluate find-similar on a labelled JSONL file (the protocol in data/similar/README.md):
    /// prints recall@1, recall@5, MRR@10 and search latency, one figure per line.
    SimilarEval {
        #[arg(long, value_name = "FILE.jsonl")]
        dataset: PathBuf,
    },
    /// Import solved cases (JSONL: query, answer, cluster, season) into a kiosk's find-similar index.
    SimilarImport {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_name = "FILE.jsonl")]
        file: PathBuf,
    },
    /// Check a store: SQLite integrity and every blob against its hash.
    Check {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Back up a node's data directory (the store, its blobs, keys and certificates) into a new
    /// directory; consistent while the node runs. Restore it with `yizhan restore`.
    Backup {
        #[command(flatten)]
        data: DataArgs,
        /// The new (or empty) directory to write the backup into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Restore a backup into a new (or empty) data directory; check it with `yizhan check`,
    /// then start the node on it: its hub resends what the backup lacks.
    Restore {
        #[command(flatten)]
        data: DataArgs,
        /// The backup directory (written by `yizhan backup`).
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Rebuild the query tables from the documents.
    RebuildProjections {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the statistics of a node's data directory (the same summary as the hubs'
    /// `/api/stats`), offline and read-only: it may run beside the node.
    Stats {
        #[command(flatten)]
        data: DataArgs,
        /// Region code (default: the whole province, i.e. everything the node holds).
        #[arg(long, default_value = "51")]
        region: String,
        /// First month, YYYY-MM (default: January of the last month's year).
        #[arg(long)]
        from: Option<String>,
        /// Last month, YYYY-MM (default: this month).
        #[arg(long)]
        to: Option<String>,
        /// Breakdown: city, county, town, village (one or two levels below the region),
        /// industry, month or expert_level.
        #[arg(long)]
        by: Option<String>,
        /// Print JSON (the shape of `/api/stats`) instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn data_dir(arg: Option<PathBuf>, sub: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = arg {
        return Ok(dir);
    }
    let dirs = directories::ProjectDirs::from("cn", "Sichuan", "Yizhan")
        .context("cannot find a home directory for the default data directory; pass --data-dir")?;
    Ok(dirs.data_dir().join(sub))
}

pub fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn main() -> anyhow::Result<()> {
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,quinn=warn".into());
    // Under systemd (which sets JOURNAL_STREAM) or when asked, one JSON object per line, which
    // journald keeps as is and log tools parse; otherwise text for a person at a terminal.
    let json = std::env::var_os("JOURNAL_STREAM").is_some()
        || std::env::var("YIZHAN_LOG_FORMAT").is_ok_and(|v| v == "json");
    if json {
        tracing_subscriber::fmt().json().with_env_filter(filter()).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter()).init();
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Kiosk(args) => tokio::runtime::Runtime::new()?.block_on(nodes::run_kiosk(args)),
        Command::Hub(args) => tokio::runtime::Runtime::new()?.block_on(nodes::run_hub(args)),
        Command::Enrol { data, hub_url, code, node_id, region } => {
            nodes::enrol(&data_dir(data.data_dir, "kiosk")?, &hub_url, &code, &node_id, &region)
        }
        Command::EnrolCode { data, scope, node_id, hours } => {
            nodes::enrol_code(&data_dir(data.data_dir, "hub")?, &scope, node_id.as_deref(), hours)
        }
        Command::WebCert { data, node_id, scope, names, out } => {
            nodes::web_cert(&data_dir(data.data_dir, "hub")?, &node_id, &scope, &names, &out)
        }
        Command::Revoke { data, node_id } => nodes::revoke(&data_dir(data.data_dir, "hub")?, &node_id),
        Command::CaInit { data, node_id } => nodes::ca_init(&data_dir(data.data_dir, "hub")?, &node_id),
        Command::CaRequest { data, node_id, scope } => {
            nodes::ca_request(&data_dir(data.data_dir, "hub")?, &node_id, &scope)
        }
        Command::CaSign { ca_dir, csr, out_dir } => nodes::ca_sign(&ca_dir, &csr, &out_dir),
        Command::CaInstall { data, answer } => nodes::ca_install(&data_dir(data.data_dir, "hub")?, &answer),
        Command::CaAddHub { ca_dir, out_dir, node_id, scope } => {
            nodes::ca_add_hub(&ca_dir, &out_dir, &node_id, &scope)
        }
        Command::Demo { data, port } => {
            tokio::runtime::Runtime::new()?.block_on(demo::run(data_dir(data.data_dir, "demo")?, port))
        }
        Command::SimilarEval { dataset } => {
            let report = yizhan_similar::evaluate(&dataset)
                .with_context(|| format!("evaluating {}", dataset.display()))?;
            println!("{report}");
            Ok(())
        }
        Command::SimilarImport { data, file } => {
            let dir = data_dir(data.data_dir, "kiosk")?.join("similar");
            let mut index = yizhan_similar::SimilarIndex::open(&dir)?;
            let report = yizhan_similar::import_jsonl(&file, &mut index)?;
            println!("{report:?}; the index in {} now holds {} cases", dir.display(), index.len());
            Ok(())
        }
        Command::Check { data } => {
            // Read-only: it may check a node while it runs.
            let db = Db::open_alongside(StoreConfig::new(data_dir(data.data_dir, "kiosk")?))?;
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
        Command::Backup { data, out } => {
            let dir = data_dir(data.data_dir, "kiosk")?;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            let m = yizhan_store::backup::backup(&dir, &out, now_ms)
                .with_context(|| format!("backing up {} into {}", dir.display(), out.display()))?;
            println!(
                "backup of {} written to {}: {} documents, {} blob files ({} bytes), {} other files",
                if m.node_id.is_empty() { "the node" } else { &m.node_id },
                out.display(),
                m.docs,
                m.blobs,
                m.blob_bytes,
                m.other_files
            );
            if !m.damaged_blobs.is_empty() {
                println!(
                    "warning: {} blobs were already damaged in the store: run `yizhan check`",
                    m.damaged_blobs.len()
                );
            }
            println!(
                "next: keep it off this machine; restore with `yizhan restore --from {} --data-dir NEW_DIR`",
                out.display()
            );
            Ok(())
        }
        Command::Restore { data, from } => {
            let dir = data_dir(data.data_dir, "kiosk")?;
            let m = yizhan_store::backup::restore(&from, &dir)
                .with_context(|| format!("restoring {} into {}", from.display(), dir.display()))?;
            println!(
                "restored the backup of {} ({} documents, {} blob files) into {}",
                if m.node_id.is_empty() { "a node" } else { &m.node_id },
                m.docs,
                m.blobs,
                dir.display()
            );
            println!(
                "next: `yizhan check --data-dir {0}`, then start the node with `--data-dir {0}`: its hub resends what the backup lacks",
                dir.display()
            );
            Ok(())
        }
        Command::Stats { data, region, from, to, by, json } => {
            let q = &StatsArgs { region, from, to, by, json };
            print_stats(&data_dir(data.data_dir, "kiosk")?, q)
        }
        Command::RebuildProjections { data } => {
            let mut db = Db::open(StoreConfig::new(data_dir(data.data_dir, "kiosk")?))?;
            let n = db.rebuild_projections()?;
            println!("rebuilt projections of {n} documents");
            Ok(())
        }
    }
}

struct StatsArgs {
    region: String,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    json: bool,
}

/// `yizhan stats`: reads the rollups through SQLite's own locking, never writing.
fn print_stats(dir: &std::path::Path, a: &StatsArgs) -> anyhow::Result<()> {
    use yizhan_core::stats::{Query, Rates};
    let mut db = Db::open_alongside(StoreConfig::new(dir))?;
    db.conn().pragma_update(None, "query_only", true)?;
    let now_ms = db.config().clock.now_ms();
    let q = Query::parse(&a.region, a.from.as_deref(), a.to.as_deref(), a.by.as_deref(), now_ms)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = db.stats_report(&q)?;
    let people = db.people_stats(q.region.as_str())?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["people"] = serde_json::to_value(&people)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let pct = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", v * 100.0));
    let line = |name: &str, c: &yizhan_core::stats::Counts, r: &Rates| {
        println!(
            "{name}: cases {} solved_by_similar {} escalated {} triaged_in_1h {} responded_in_3h {} closed {} \
             mean_rating {} followed_up_in_7d {} valid {} breaches {} onsite {} travel_fen {}",
            c.cases,
            c.solved_by_similar,
            c.escalated,
            pct(r.triaged_in_time),
            pct(r.responded_in_time),
            c.closed,
            r.mean_rating.map_or_else(|| "-".to_string(), |v| format!("{v:.2}")),
            pct(r.followed_up_in_time),
            pct(r.valid),
            c.breaches,
            c.onsite_visits,
            c.travel_cost_fen
        );
    };
    println!(
        "{} {} ({} .. {}), active kiosks {}",
        report.region, report.region_name, report.from, report.to, report.active_kiosks
    );
    line("total", &report.totals.counts, &report.totals.rates);
    for g in &report.groups {
        line(&format!("  {} {}", g.key, g.name), &g.figures.counts, &g.figures.rates);
    }
    println!(
        "people: experts {}, officers {} in {} villages ({} below the plan of 2), centres {}",
        people.experts,
        people.officers,
        people.villages_with_officers,
        people.villages_below_plan,
        people.centres.len()
    );
    Ok(())
}
