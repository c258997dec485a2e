//! One clock (issue 9): domain and service code read wall-clock time only through the store's
//! clock (`yizhan_store::StoreClock`, reached as `store.config().clock`). The system time is read
//! in `StoreClock::system`, in `yizhan_identity::system_time`/`system_clock` for certificate
//! validity, and in the binary (`src/`); nowhere else.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
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

/// Files allowed to read the system time, and why.
const ALLOWED: &[&str] = &[
    // The one clock's system source.
    "store/src/lib.rs",
    // Certificate, enrolment-code and revocation-list validity.
    "identity/src/tls.rs",
];

#[test]
fn no_library_reads_the_system_time_but_through_the_one_clock() {
    let crates = [
        "core",
        "store",
        "kiosk",
        "hub",
        "accounts",
        "net",
        "uploads",
        "records",
        "similar",
        "identity",
        "web",
        "media",
        "sync-proto",
    ];
    for krate in crates {
        let dir = root().join(krate).join("src");
        if !dir.exists() {
            continue;
        }
        for file in rust_files(&dir) {
            let rel =
                file.strip_prefix(root()).expect("inside the workspace").to_string_lossy().replace('\\', "/");
            if ALLOWED.contains(&rel.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("source");
            for f in ["SystemTime::now", "Utc::now", "Local::now"] {
                assert!(!text.contains(f), "{rel} reads {f}: use the store's clock (store.config().clock)");
            }
        }
    }
}
