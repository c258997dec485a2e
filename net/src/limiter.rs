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
