//! Congestion control: quinn's BBR, with its window bounded by a delivery rate measured over
//! round-trip-long intervals.
//!
//! Why BBR: on a rural link with random loss (1 Mbit/s, 300 ms round trip, 2 % loss in
//! `benches/sync_link.rs`) Cubic and NewReno take every lost packet for congestion and keep
//! their window at a fraction of the line; BBR sizes its window from the bottleneck rate and
//! the round trip, so random loss costs only the retransmission.
//!
//! Why the bound: quinn's BBR (marked experimental) estimates the bottleneck rate from the
//! time between two consecutive acknowledgements, so acknowledgements that arrive close
//! together inflate its estimate, and its window with it. On the emulated link it then sent
//! about 1.7 times the line rate into the router's queue, which dropped a third of the
//! datagrams: no slower for the sync itself, but a link made useless for anything else that
//! shares it. [`DeliveryRate`] measures what was acknowledged over intervals at least a round
//! trip long, and the window is held to [`WINDOW_GAIN`] times that rate times the shortest
//! round trip (BBR's own target, with a sound rate), never below [`RTT_FLOOR`]'s worth so
//! that fast, short paths (LAN, loopback) are not held back by scheduling noise.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::congestion::{BbrConfig, Controller, ControllerFactory};
use quinn_proto::RttEstimator;

/// The window is at most this many times the delivery rate times the shortest round trip.
pub const WINDOW_GAIN: f64 = 2.0;
/// The round trip used for the bound is at least this long.
pub const RTT_FLOOR: Duration = Duration::from_millis(10);
/// Rate samples kept; the bound follows the largest (about this many round trips).
pub const RATE_SAMPLES: usize = 10;
/// An interval this many times longer than its target spanned a pause, not sending: dropped.
const INTERVAL_STRETCH_MAX: u32 = 4;
/// The smallest window, in packets (BBR's own minimum).
const MIN_WINDOW_PACKETS: u64 = 4;

/// The rate at which bytes were acknowledged, measured over intervals at least one round trip
/// (and [`RTT_FLOOR`]) long: the largest of the last [`RATE_SAMPLES`] intervals. An interval
/// during which the sender ran out of data counts only if it raises the estimate.
#[derive(Debug, Clone, Default)]
pub struct DeliveryRate {
    start: Option<Instant>,
    bytes: u64,
    app_limited: bool,
    samples: [u64; RATE_SAMPLES],
    next: usize,
}

impl DeliveryRate {
    /// Records `bytes` acknowledged at `now`.
    pub fn on_ack(&mut self, now: Instant, bytes: u64, app_limited: bool, min_rtt: Duration) {
        let Some(start) = self.start else {
            // The bytes of the first acknowledgement were delivered before any interval began.
            self.start = Some(now);
            return;
        };
        self.bytes += bytes;
        self.app_limited |= app_limited;
        let target = min_rtt.max(RTT_FLOOR);
        let elapsed = now.saturating_duration_since(start);
        if elapsed < target {
            return;
        }
        if elapsed <= target * INTERVAL_STRETCH_MAX {
            let rate = (self.bytes as f64 / elapsed.as_secs_f64()) as u64;
            if !self.app_limited || rate > self.bytes_per_s() {
                self.samples[self.next] = rate;
                self.next = (self.next + 1) % RATE_SAMPLES;
            }
        }
        self.start = Some(now);
        self.bytes = 0;
        self.app_limited = false;
    }

    /// Bytes per second; 0 before the first interval ends.
    pub fn bytes_per_s(&self) -> u64 {
        self.samples.iter().copied().max().unwrap_or(0)
    }

    /// The largest window this rate justifies: `WINDOW_GAIN` × rate × round trip; `None` while
    /// there is no measurement yet.
    pub fn window_bound(&self, min_rtt: Duration, mtu: u64) -> Option<u64> {
        let rate = self.bytes_per_s();
        if rate == 0 {
            return None;
        }
        let bdp = rate as f64 * min_rtt.max(RTT_FLOOR).as_secs_f64();
        Some(((WINDOW_GAIN * bdp) as u64).max(MIN_WINDOW_PACKETS * mtu))
    }
}

/// Builds [`RateBoundedBbr`] controllers.
#[derive(Debug, Clone)]
pub struct RateBoundedBbrConfig {
    bbr: Arc<BbrConfig>,
}

impl RateBoundedBbrConfig {
    pub fn new(initial_window: u64) -> RateBoundedBbrConfig {
        let mut bbr = BbrConfig::default();
        bbr.initial_window(initial_window);
        RateBoundedBbrConfig { bbr: Arc::new(bbr) }
    }
}

impl ControllerFactory for RateBoundedBbrConfig {
    fn build(self: Arc<Self>, now: Instant, current_mtu: u16) -> Box<dyn Controller> {
        Box::new(RateBoundedBbr {
            inner: self.bbr.clone().build(now, current_mtu),
            rate: DeliveryRate::default(),
            min_rtt: None,
            mtu: u64::from(current_mtu),
        })
    }
}

/// quinn's BBR with its window bounded by [`DeliveryRate::window_bound`].
pub struct RateBoundedBbr {
    inner: Box<dyn Controller>,
    rate: DeliveryRate,
    min_rtt: Option<Duration>,
    mtu: u64,
}

impl Controller for RateBoundedBbr {
    fn on_sent(&mut self, now: Instant, bytes: u64, last_packet_number: u64) {
        self.inner.on_sent(now, bytes, last_packet_number);
    }

    fn on_ack(&mut self, now: Instant, sent: Instant, bytes: u64, app_limited: bool, rtt: &RttEstimator) {
        self.inner.on_ack(now, sent, bytes, app_limited, rtt);
        let min_rtt = rtt.min();
        self.min_rtt = Some(min_rtt);
        self.rate.on_ack(now, bytes, app_limited, min_rtt);
    }

    fn on_end_acks(&mut self, now: Instant, in_flight: u64, app_limited: bool, largest_acked: Option<u64>) {
        self.inner.on_end_acks(now, in_flight, app_limited, largest_acked);
    }

    fn on_congestion_event(&mut self, now: Instant, sent: Instant, persistent: bool, lost_bytes: u64) {
        self.inner.on_congestion_event(now, sent, persistent, lost_bytes);
    }

    fn on_mtu_update(&mut self, new_mtu: u16) {
        self.mtu = u64::from(new_mtu);
        self.inner.on_mtu_update(new_mtu);
    }

    fn window(&self) -> u64 {
        let window = self.inner.window();
        match self.min_rtt.and_then(|rtt| self.rate.window_bound(rtt, self.mtu)) {
            Some(bound) => window.min(bound),
            None => window,
        }
    }

    fn clone_box(&self) -> Box<dyn Controller> {
        Box::new(RateBoundedBbr {
            inner: self.inner.clone_box(),
            rate: self.rate.clone(),
            min_rtt: self.min_rtt,
            mtu: self.mtu,
        })
    }

    fn initial_window(&self) -> u64 {
        self.inner.initial_window()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTT: Duration = Duration::from_millis(300);

    /// Acknowledgements of `packet` bytes every `gap`, `count` of them, from `t`.
    fn feed(rate: &mut DeliveryRate, t: &mut Instant, packet: u64, gap: Duration, count: usize) {
        for _ in 0..count {
            *t += gap;
            rate.on_ack(*t, packet, false, RTT);
        }
    }

    #[test]
    fn measures_the_rate_over_round_trips() {
        let mut rate = DeliveryRate::default();
        let mut t = Instant::now();
        assert_eq!(rate.window_bound(RTT, 1200), None, "no bound before a measurement");
        // 1250 bytes every 10 ms: 125,000 bytes/s.
        feed(&mut rate, &mut t, 1250, Duration::from_millis(10), 100);
        let r = rate.bytes_per_s();
        assert!((120_000..=130_000).contains(&r), "{r}");
        let bound = rate.window_bound(RTT, 1200).unwrap_or(0);
        assert!((72_000..=78_000).contains(&bound), "twice the bandwidth-delay product: {bound}");
    }

    #[test]
    fn bunched_acknowledgements_do_not_inflate_it() {
        let mut rate = DeliveryRate::default();
        let mut t = Instant::now();
        // The same 125,000 bytes/s, acknowledged in pairs 1 ms apart every 20 ms.
        for _ in 0..100 {
            t += Duration::from_millis(19);
            rate.on_ack(t, 1250, false, RTT);
            t += Duration::from_millis(1);
            rate.on_ack(t, 1250, false, RTT);
        }
        let r = rate.bytes_per_s();
        assert!((120_000..=130_000).contains(&r), "{r}");
    }

    #[test]
    fn a_pause_or_running_out_of_data_does_not_lower_it() {
        let mut rate = DeliveryRate::default();
        let mut t = Instant::now();
        feed(&mut rate, &mut t, 1250, Duration::from_millis(10), 100);
        let before = rate.bytes_per_s();
        // An hour without acknowledgements, then a trickle while the sender has little to send.
        t += Duration::from_secs(3600);
        rate.on_ack(t, 1250, true, RTT);
        for _ in 0..50 {
            t += Duration::from_millis(100);
            rate.on_ack(t, 100, true, RTT);
        }
        assert_eq!(rate.bytes_per_s(), before);
    }

    #[test]
    fn a_slower_path_lowers_it_after_the_window_of_samples() {
        let mut rate = DeliveryRate::default();
        let mut t = Instant::now();
        feed(&mut rate, &mut t, 1250, Duration::from_millis(10), 100);
        // Half the rate for 20 round trips.
        feed(&mut rate, &mut t, 1250, Duration::from_millis(20), 300);
        let r = rate.bytes_per_s();
        assert!((60_000..=65_000).contains(&r), "{r}");
    }

    #[test]
    fn short_paths_use_the_round_trip_floor() {
        let mut rate = DeliveryRate::default();
        let mut t = Instant::now();
        let rtt = Duration::from_micros(50);
        // 100 MB/s on loopback: 1250 bytes every 12.5 µs.
        for _ in 0..20_000 {
            t += Duration::from_nanos(12_500);
            rate.on_ack(t, 1250, false, rtt);
        }
        let bound = rate.window_bound(rtt, 1200).unwrap_or(0);
        assert!(bound >= 1_900_000, "2 × 100 MB/s × 10 ms: {bound}");
    }
}
