//! Architecture checks as ordinary tests: which crate may depend on which, and what the pure
//! domain crate may never do.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names in a manifest's `[dependencies]` table.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).expect("manifest");
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// The workspace's member crates (directories), from the root manifest.
fn workspace_members() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("manifest");
    let line = manifest.lines().find(|l| l.trim_start().starts_with("members")).expect("members");
    line.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

fn check_allowed(krate: &str, allowed: &[&str]) {
    for dep in dependencies(krate) {
        assert!(allowed.contains(&dep.as_str()), "{krate} must not depend on {dep}; allowed: {allowed:?}");
    }
}

/// Code-map rows of ARCHITECTURE.md that name a crate: (crate folder, or "" for the root
/// package; the names in its "may depend on" column).
fn code_map() -> Vec<(String, Vec<String>)> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut rows = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let (Some(first), Some(last)) = (cells.first(), cells.last()) else { continue };
        let krate = if first.contains("(package `yizhan`)") {
            String::new()
        } else if let Some(folder) = first.strip_prefix('`').and_then(|f| f.split_once("/` (`yizhan-")) {
            folder.0.to_string()
        } else {
            continue;
        };
        let names = last
            .split(',')
            .map(|n| n.trim().split(['(', ' ']).next().unwrap_or("").to_string())
            .filter(|n| !n.is_empty())
            .collect();
        rows.push((krate, names));
    }
    rows
}

/// Issue 9: the code map's "may depend on" column is the truth about the workspace's layers:
/// every member has a row, and its workspace dependencies are exactly the ones its row names.
#[test]
fn the_code_map_names_every_crate_and_its_workspace_dependencies() {
    let rows = code_map();
    let members = workspace_members();
    for m in members.iter().map(String::as_str).chain([""]) {
        let Some((_, allowed)) = rows.iter().find(|(k, _)| k == m) else {
            panic!(
                "ARCHITECTURE.md's code map has no row for {:?}",
                if m.is_empty() { "src/main.rs" } else { m }
            );
        };
        let internal: Vec<String> = dependencies(if m.is_empty() { "." } else { m })
            .into_iter()
            .filter_map(|d| d.strip_prefix("yizhan-").map(String::from))
            .collect();
        for d in &internal {
            assert!(
                allowed.contains(d),
                "{m:?} depends on yizhan-{d}, which its code-map row does not allow: {allowed:?}"
            );
        }
        for a in allowed.iter().filter(|a| members.contains(a)) {
            assert!(
                internal.contains(a),
                "the code map says {m:?} may depend on {a}, but it does not: keep the map true"
            );
        }
    }
}

#[test]
fn crates_depend_only_on_what_their_layer_allows() {
    check_allowed(
        "core",
        &[
            "automerge",
            "autosurgeon",
            "serde",
            "serde_json",
            "thiserror",
            "chacha20poly1305",
            "x25519-dalek",
            "blake3",
            "base64",
            // Pure text matching for the sensitive-word list (安全熔断): no I/O.
            "aho-corasick",
            "unicode-normalization",
        ],
    );
    check_allowed(
        "store",
        &[
            "yizhan-core",
            "yizhan-sync-proto",
            "automerge",
            "rusqlite",
            "blake3",
            "thiserror",
            "tokio",
            "tracing",
            "serde",
            "serde_json",
            // Key files beside the store (`keys.rs`): 32 random bytes on first start.
            "rand",
        ],
    );
    check_allowed("media", &["image", "ffmpeg-next", "thiserror", "tracing"]);
    // Media intake is shared by the node kinds: it may not know any of them, nor the network.
    check_allowed(
        "uploads",
        &[
            "yizhan-core",
            "yizhan-store",
            "yizhan-media",
            "axum",
            "tokio",
            "maud",
            "tracing",
            "thiserror",
            "tower-http",
            "tower",
            "mime",
        ],
    );
    // The web layer is below every node kind: it knows HTTP and core's regions and industries
    // (to name them) and renders published items (to PDF too), not stores or nodes.
    check_allowed(
        "web",
        // flate2: the dashboard's large static files are served gzip-compressed.
        &[
            "yizhan-core",
            "yizhan-pdf",
            "axum",
            "tokio",
            "maud",
            "tracing",
            "serde_json",
            "rand",
            "url",
            "chrono",
            "flate2",
        ],
    );
    // The PDF writer is pure over bytes: no workspace crate, no store, no network.
    check_allowed("pdf", &["krilla", "skrifa", "lopdf", "rand", "thiserror"]);
    // Neither node kind depends on the other.
    assert!(!dependencies("kiosk").iter().any(|d| d == "yizhan-hub"), "kiosk must not depend on hub");
    assert!(!dependencies("hub").iter().any(|d| d == "yizhan-kiosk"), "hub must not depend on kiosk");
    // Test set-up (nodes, certificates, links) is for tests only: a dev-dependency, never a
    // dependency of anything that ships.
    check_allowed(
        "test-support",
        &[
            "yizhan-core",
            "yizhan-store",
            "yizhan-net",
            "yizhan-hub",
            "yizhan-kiosk",
            "yizhan-identity",
            "quinn",
            "tokio",
        ],
    );
    for krate in workspace_members().iter().map(String::as_str).chain([""]) {
        assert!(
            !dependencies(krate).iter().any(|d| d == "yizhan-test-support"),
            "{krate:?} must not depend on yizhan-test-support (a dev-dependency only)"
        );
    }
    // The sync protocol is sans-IO: no runtime, sockets or database.
    for forbidden in ["tokio", "quinn", "rusqlite", "axum"] {
        assert!(
            !dependencies("sync-proto").iter().any(|d| d == forbidden),
            "sync-proto must not use {forbidden}"
        );
    }
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_domain_core_reads_no_clock_and_draws_no_randomness() {
    let forbidden = [
        "SystemTime::now",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "rand::",
        "std::fs",
        "std::net",
        "thread_rng",
    ];
    for file in rust_files(&root().join("core/src")) {
        let text = std::fs::read_to_string(&file).expect("source");
        for f in forbidden {
            assert!(!text.contains(f), "{} uses {f}: time, randomness and I/O are passed in", file.display());
        }
    }
}

/// Files allowed to read the system time, and why.
const SYSTEM_TIME_ALLOWED: &[&str] = &[
    // The one clock's system source.
    "store/src/lib.rs",
    // Certificate, enrolment-code and revocation-list validity.
    "identity/src/tls.rs",
];

/// One clock (issue 9): domain and service code read wall-clock time only through the store's
/// clock (`yizhan_store::StoreClock`, reached as `store.config().clock`). The system time is read
/// in `StoreClock::system`, in `yizhan_identity::system_time`/`system_clock` for certificate
/// validity, and in the binary (`src/`); nowhere else in the library crates (the test-support
/// crate, used by tests only, aside).
#[test]
fn no_library_reads_the_system_time_but_through_the_one_clock() {
    for krate in workspace_members().iter().filter(|m| m.as_str() != "test-support") {
        let dir = root().join(krate).join("src");
        if !dir.exists() {
            continue;
        }
        for file in rust_files(&dir) {
            let rel =
                file.strip_prefix(root()).expect("inside the workspace").to_string_lossy().replace('\\', "/");
            if SYSTEM_TIME_ALLOWED.contains(&rel.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("source");
            for f in ["SystemTime::now", "Utc::now", "Local::now"] {
                assert!(!text.contains(f), "{rel} reads {f}: use the store's clock (store.config().clock)");
            }
        }
    }
}
