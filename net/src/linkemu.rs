//! A user-space emulator of a rural link, for tests and benchmarks: a UDP relay that limits
//! the rate, delays and drops datagrams (this kernel has no netem). Traffic stays on loopback.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// Bytes per second in each direction.
    pub rate_bytes_per_s: u64,
    /// One-way delay (half the round trip).
    pub delay: Duration,
    /// Probability (0..1) that a datagram is lost.
    pub loss: f64,
    /// Bytes a direction may queue before new datagrams are dropped (a router's buffer).
    pub queue_bytes_max: usize,
    pub seed: u64,
}

impl LinkSpec {
    /// 1 Mbit/s, 300 ms round trip, 2 % loss: a village link on a bad day.
    pub fn rural() -> LinkSpec {
        LinkSpec {
            rate_bytes_per_s: 125_000,
            delay: Duration::from_millis(150),
            loss: 0.02,
            queue_bytes_max: 64 * 1024,
            seed: 1,
        }
    }
}

/// Bytes and datagrams that crossed (or were dropped by) the emulated link.
#[derive(Debug, Default)]
pub struct LinkCounters {
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
    pub datagrams: AtomicU64,
    pub dropped: AtomicU64,
}

/// A small deterministic generator, so loss patterns replay with the seed.
struct XorShift(u64);

impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Direction {
    /// When the link is next free to start serialising a datagram.
    busy_until: Instant,
    queued: VecDeque<(Instant, usize)>,
}

/// Starts a relay listening on `127.0.0.1:0` that forwards to `server`. Clients dial the
/// returned address instead of the server's. Runs until the runtime ends.
pub async fn start(server: SocketAddr, spec: LinkSpec) -> std::io::Result<(SocketAddr, Arc<LinkCounters>)> {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    back.connect(server).await?;
    let addr = front.local_addr()?;
    let counters = Arc::new(LinkCounters::default());
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let rng = Arc::new(std::sync::Mutex::new(XorShift(spec.seed.max(1))));
    for up in [true, false] {
        let (front, back, counters, client, rng, spec) =
            (front.clone(), back.clone(), counters.clone(), client.clone(), rng.clone(), spec.clone());
        tokio::spawn(async move {
            let mut dir = Direction { busy_until: Instant::now(), queued: VecDeque::new() };
            let mut buf = vec![0u8; 65_536];
            loop {
                let received =
                    if up { front.recv_from(&mut buf).await } else { back.recv_from(&mut buf).await };
                let Ok((n, from)) = received else { return };
                if up {
                    *client.lock().await = Some(from);
                }
                counters.datagrams.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                while dir.queued.front().is_some_and(|(t, _)| *t <= now) {
                    dir.queued.pop_front();
                }
                let queued: usize = dir.queued.iter().map(|(_, n)| n).sum();
                let lost = rng.lock().map(|mut r| r.next_f64() < spec.loss).unwrap_or(false);
                if lost || queued + n > spec.queue_bytes_max {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                // Serialisation at the link rate, then the propagation delay.
                let start = dir.busy_until.max(now);
                let done = start + Duration::from_secs_f64(n as f64 / spec.rate_bytes_per_s as f64);
                dir.busy_until = done;
                dir.queued.push_back((done, n));
                let deliver_at = done + spec.delay;
                let data = buf[..n].to_vec();
                if up {
                    counters.bytes_up.fetch_add(n as u64, Ordering::Relaxed);
                } else {
                    counters.bytes_down.fetch_add(n as u64, Ordering::Relaxed);
                }
                let (front, back, client) = (front.clone(), back.clone(), client.clone());
                tokio::spawn(async move {
                    tokio::time::sleep_until(deliver_at).await;
                    if up {
                        let _ = back.send(&data).await;
                    } else if let Some(c) = *client.lock().await {
                        let _ = front.send_to(&data, c).await;
                    }
                });
            }
        });
    }
    Ok((addr, counters))
}
