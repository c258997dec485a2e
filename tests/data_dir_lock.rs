//! Issue 13: one process per data directory. Two `yizhan kiosk` processes on one directory,
//! started at the same instant (looped, since the race is the point): exactly one serves, the
//! other stops with a message naming the first one's PID, and the store the first one made is
//! whole (no half-run migrations).
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;

use std::process::Command;
use std::time::{Duration, Instant};

use process::{BIN, Proc};
const ROUNDS: usize = 4;

#[test]
fn a_second_process_on_a_data_directory_in_use_is_refused() {
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let mut children: Vec<Proc> = (0..2)
            .map(|_| Proc::spawn_in(&["kiosk", "--listen", "127.0.0.1:0"], Some(dir.path()), "warn"))
            .collect();
        // One of them exits (refused); the other keeps serving.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut exited = None;
        while exited.is_none() && Instant::now() < deadline {
            for (i, c) in children.iter_mut().enumerate() {
                if let Some(status) = c.child.try_wait().unwrap() {
                    exited = Some((i, status));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (loser, status) = exited.unwrap_or_else(|| panic!("round {round}: both processes kept running"));
        assert!(!status.success(), "round {round}: the refused process must fail");
        let winner = 1 - loser;
        let winner_pid = children[winner].child.id();
        children[winner].wait_line("kiosk ready");
        let refusal = children[loser].wait_line("in use by another Yizhan process");
        assert!(
            refusal.contains(&format!("PID {winner_pid}")),
            "round {round}: the refusal names the holder: {refusal}"
        );
        assert!(children[winner].child.try_wait().unwrap().is_none(), "round {round}: the holder still runs");
        drop(children);
        // The directory is whole: the holder's store opens and checks clean once it is gone.
        let out = Command::new(BIN).args(["check", "--data-dir"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stdout));
    }
}
