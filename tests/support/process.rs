//! The `yizhan` binary as a child process for end-to-end tests: its stdout and stderr as lines
//! on a channel, killed on drop (also when a test panics), and free loopback ports.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_yizhan");

/// A node process, killed on drop; `lines` receives its stdout and stderr.
pub struct Proc {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `yizhan ARGS` with `RUST_LOG=log`.
    pub fn spawn(args: &[&str], log: &str) -> Proc {
        Proc::spawn_in(args, None, log)
    }

    /// Starts `yizhan ARGS --data-dir DIR` (the directory as a path, not necessarily UTF-8).
    pub fn spawn_in(args: &[&str], data_dir: Option<&Path>, log: &str) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        if let Some(dir) = data_dir {
            cmd.arg("--data-dir").arg(dir);
        }
        let mut child = cmd
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the yizhan binary");
        let (tx, rx) = mpsc::channel();
        let pipes: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ];
        for pipe in pipes.into_iter().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Proc { child, lines: rx }
    }

    /// Waits (at most `within`) for a line containing `marker` and returns it.
    pub fn wait_line_within(&self, marker: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                if line.contains(marker) {
                    return line;
                }
                seen.push(line);
            }
        }
        panic!("no line with {marker:?}; output:\n{}", seen.join("\n"));
    }

    /// Waits (at most 30 s) for a line containing `marker` and returns it.
    pub fn wait_line(&self, marker: &str) -> String {
        self.wait_line_within(marker, Duration::from_secs(30))
    }
}

/// A base port with the `n - 1` after it free too (the demo takes four web ports).
pub fn free_ports(n: u16) -> u16 {
    for _ in 0..50 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(0);
        if base == 0 || base > 60_000 {
            continue;
        }
        if (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no {n} free ports in a row");
}
