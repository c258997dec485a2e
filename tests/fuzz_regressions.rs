//! Replays every input kept under `fuzz/regressions/<target>/` and `fuzz/seeds/<target>/`
//! through the same target bodies the coverage-guided fuzzers run (`fuzz/targets.rs`): a
//! crasher found once stays fixed. A target passes when it returns; a panic fails the test.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

#[test]
fn every_kept_fuzz_input_is_handled_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for (name, target) in targets::TARGETS {
        for kind in ["regressions", "seeds"] {
            let dir = root.join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                println!("{name}: {}", path.display());
                target(&data);
                replayed += 1;
            }
        }
    }
    // The crasher automerge 0.12 panics on is among them.
    assert!(root.join("regressions/doc_changes/automerge-hexane-rle-unwrap").exists());
    assert!(replayed >= 5, "only {replayed} inputs found under {}", root.display());
}
