//! A token bucket that paces sends to a configured rate.

use std::time::Duration;

use tokio::time::Instant;

/// Paces writes to `bytes_per_s`, allowing bursts of one second's worth.
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_s: u64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(bytes_per_s: u64) -> RateLimiter {
        let bytes_per_s = bytes_per_s.max(1);
        RateLimiter { bytes_per_s, tokens: bytes_per_s as f64, last: Instant::now() }
    }

    /// How long to wait before sending `bytes` (and consumes them).
    pub fn delay_for(&mut self, bytes: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let cap = self.bytes_per_s as f64;
        self.tokens = (self.tokens + elapsed * cap).min(cap);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / cap) }
    }

    pub async fn wait(&mut self, bytes: usize) {
        let delay = self.delay_for(bytes, Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_to_the_rate_after_a_burst() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(1000);
        assert_eq!(l.delay_for(1000, t0), Duration::ZERO, "one second's burst is free");
        assert_eq!(l.delay_for(500, t0), Duration::from_millis(500));
        // After the wait the debt is paid.
        assert_eq!(l.delay_for(0, t0 + Duration::from_millis(500)), Duration::ZERO);
    }
}

/// The rate at which a peer acknowledges content (bytes durable at the peer), measured over a
/// sliding window: what the link really delivers, for estimates of the time still needed.
#[derive(Debug, Default)]
pub struct AckRate {
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl AckRate {
    /// Samples older than this are dropped.
    pub const WINDOW: Duration = Duration::from_secs(20);
    /// Samples kept at most.
    pub const SAMPLES_MAX: usize = 1024;

    pub fn add(&mut self, bytes: u64, now: Instant) {
        if self.samples.len() >= Self::SAMPLES_MAX {
            self.samples.pop_front();
        }
        self.samples.push_back((now, bytes));
        while self.samples.front().is_some_and(|(t, _)| now.saturating_duration_since(*t) > Self::WINDOW) {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the window, once it spans at least a second (`None` before).
    pub fn bytes_per_s(&self, now: Instant) -> Option<u64> {
        let (first, _) = self.samples.front()?;
        let span = now.saturating_duration_since(*first).as_secs_f64();
        if span < 1.0 {
            return None;
        }
        // The first sample's bytes arrived before the span began.
        let bytes: u64 = self.samples.iter().skip(1).map(|(_, b)| b).sum();
        Some((bytes as f64 / span) as u64)
    }
}
