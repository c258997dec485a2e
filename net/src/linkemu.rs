//! A user-space emulator of a rural link, for tests and benchmarks: a UDP relay that limits
//! the rate, delays and drops datagrams (this kernel has no netem). Traffic stays on loopback.
//!
//! Each direction is modelled like a router's egress shaped by netem: random loss on arrival,
//! then a drop-tail queue bounded in bytes, then serialisation at the link rate (a token
//! bucket one packet deep: a datagram occupies the link for its size over the rate, IPv4 and
//! UDP headers included), then the propagation delay. Datagrams leave in the order they
//! arrived, through one delay line per direction.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// Bytes per second in each direction, IPv4 and UDP headers included.
    pub rate_bytes_per_s: u64,
    /// One-way delay (half the round trip).
    pub delay: Duration,
    /// Probability (0..1) that a datagram is lost.
    pub loss: f64,
    /// Bytes a direction may queue before new datagrams are dropped (a router's buffer,
    /// counted like the rate).
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
    /// Datagrams dropped, at random or because the queue was full ...
    pub dropped: AtomicU64,
    /// ... of which because the queue was full ...
    pub dropped_queue_full: AtomicU64,
    /// ... and the bytes of all of them.
    pub dropped_bytes: AtomicU64,
    /// The largest datagram seen: one packet each (the relay's sockets do not coalesce).
    pub datagram_bytes_max: AtomicU64,
    /// Both directions' bytes as the link carries them (IP and UDP headers included), of the
    /// datagrams it delivered: what an interface counter would show.
    pub bytes_on_link: AtomicU64,
    /// While set, the link drops everything (a cable pulled, a kiosk switched off mid-send:
    /// nothing it says on the way down, not even closing its connection, gets through).
    pub cut: AtomicBool,
}

/// IPv4 and UDP headers: the link carries them, the relay's sockets do not see them.
pub const IP_UDP_HEADER_BYTES: usize = 28;

/// Datagrams on the delay line of one direction (in the queue or in propagation); more are
/// dropped. Far above what the byte-bounded queue and the delay admit at the rates used.
const DELAY_LINE_DATAGRAMS_MAX: usize = 16_384;

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
    let client: Arc<std::sync::Mutex<Option<SocketAddr>>> = Arc::default();
    let rng = Arc::new(std::sync::Mutex::new(XorShift(spec.seed.max(1))));
    for up in [true, false] {
        let (front, back, counters, client, rng, spec) =
            (front.clone(), back.clone(), counters.clone(), client.clone(), rng.clone(), spec.clone());
        // The delay line: datagrams in arrival order with the instant each reaches the far end
        // (non-decreasing, so one task delivers them all in order).
        let (line_tx, mut line_rx) = mpsc::channel::<(Instant, Vec<u8>)>(DELAY_LINE_DATAGRAMS_MAX);
        let (out_front, out_back, out_client) = (front.clone(), back.clone(), client.clone());
        tokio::spawn(async move {
            while let Some((deliver_at, data)) = line_rx.recv().await {
                tokio::time::sleep_until(deliver_at).await;
                if up {
                    let _ = out_back.send(&data).await;
                } else {
                    let to = *out_client.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(c) = to {
                        let _ = out_front.send_to(&data, c).await;
                    }
                }
            }
        });
        tokio::spawn(async move {
            let mut dir = Direction { busy_until: Instant::now(), queued: VecDeque::new() };
            let mut buf = vec![0u8; 65_536];
            loop {
                let received =
                    if up { front.recv_from(&mut buf).await } else { back.recv_from(&mut buf).await };
                let Ok((n, from)) = received else { return };
                if up {
                    *client.lock().unwrap_or_else(|p| p.into_inner()) = Some(from);
                }
                counters.datagrams.fetch_add(1, Ordering::Relaxed);
                counters.datagram_bytes_max.fetch_max(n as u64, Ordering::Relaxed);
                let now = Instant::now();
                // The queue holds what has not finished serialising.
                while dir.queued.front().is_some_and(|(t, _)| *t <= now) {
                    dir.queued.pop_front();
                }
                let queued: usize = dir.queued.iter().map(|(_, n)| n).sum();
                let on_link = n + IP_UDP_HEADER_BYTES;
                let lost = rng.lock().map(|mut r| r.next_f64() < spec.loss).unwrap_or(false)
                    || counters.cut.load(Ordering::Relaxed);
                let full = !lost && queued + on_link > spec.queue_bytes_max;
                if lost || full {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    counters.dropped_queue_full.fetch_add(u64::from(full), Ordering::Relaxed);
                    counters.dropped_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    continue;
                }
                // Serialisation at the link rate, then the propagation delay.
                let start = dir.busy_until.max(now);
                let done = start + Duration::from_secs_f64(on_link as f64 / spec.rate_bytes_per_s as f64);
                let deliver_at = done + spec.delay;
                if line_tx.try_send((deliver_at, buf[..n].to_vec())).is_err() {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                dir.busy_until = done;
                dir.queued.push_back((done, on_link));
                counters.bytes_on_link.fetch_add(on_link as u64, Ordering::Relaxed);
                if up {
                    counters.bytes_up.fetch_add(n as u64, Ordering::Relaxed);
                } else {
                    counters.bytes_down.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        });
    }
    Ok((addr, counters))
}
