#![no_main]

#[path = "../targets.rs"]
#[allow(dead_code)]
mod targets;

// The target catches automerge's own panics as the store does (`core::untrusted`), so the
// abort-on-panic hook libfuzzer-sys installs gives way to the default one here; a panic that
// escapes the target still aborts the run (libfuzzer-sys catches it and aborts).
libfuzzer_sys::fuzz_target!(init: { let _ = std::panic::take_hook(); }, |data: &[u8]| targets::doc_changes(data));
