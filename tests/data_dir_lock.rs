//! Issue 13: one process per data directory. Two `yizhan kiosk` processes on one directory,
//! started at the same instant (looped, since the race is the point): exactly one serves, the
//! other stops with a message naming the first one's PID, and the store the first one made is
//! whole (no half-run migrations).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_yizhan");
const ROUNDS: usize = 4;

#[test]
fn a_second_process_on_a_data_directory_in_use_is_refused() {
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel::<(usize, String)>();
        let mut children = Vec::new();
        for i in 0..2 {
            let mut child = Command::new(BIN)
                .args(["kiosk", "--listen", "127.0.0.1:0", "--data-dir"])
                .arg(dir.path())
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            for pipe in [
                Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
                Box::new(child.stderr.take().unwrap()),
            ] {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                        let _ = tx.send((i, line));
                    }
                });
            }
            children.push(child);
        }
        // One of them exits (refused); the other keeps serving.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut exited = None;
        while exited.is_none() && Instant::now() < deadline {
            for (i, c) in children.iter_mut().enumerate() {
                if let Some(status) = c.try_wait().unwrap() {
                    exited = Some((i, status));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (loser, status) = exited.unwrap_or_else(|| panic!("round {round}: both processes kept running"));
        assert!(!status.success(), "round {round}: the refused process must fail");
        let winner = 1 - loser;
        let winner_pid = children[winner].id();
        let mut ready = false;
        let mut refusal = String::new();
        while Instant::now() < deadline && (!ready || refusal.is_empty()) {
            if let Ok((i, line)) = rx.recv_timeout(Duration::from_millis(200)) {
                if i == winner && line.contains("kiosk ready") {
                    ready = true;
                }
                if i == loser && line.contains("in use by another Yizhan process") {
                    refusal = line;
                }
            }
        }
        assert!(ready, "round {round}: the first process serves");
        assert!(
            refusal.contains(&format!("PID {winner_pid}")),
            "round {round}: the refusal names the holder: {refusal}"
        );
        assert!(children[winner].try_wait().unwrap().is_none(), "round {round}: the holder still runs");
        for mut c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The directory is whole: the holder's store opens and checks clean once it is gone.
        let out = Command::new(BIN).args(["check", "--data-dir"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stdout));
    }
}
