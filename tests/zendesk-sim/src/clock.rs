//! The simulator's clock: Unix time that runs `time_scale` times faster than real time and
//! can be moved forward on demand, so tests never wait for a minute to pass.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A scaled clock anchored at a real instant.
#[derive(Debug)]
pub(crate) struct SimClock {
    anchor: Mutex<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    sim_ms: i64,
    scale: f64,
}

impl SimClock {
    /// A clock that reads `start_secs` (Unix seconds) now and runs `scale` times real time.
    pub(crate) fn new(start_secs: i64, scale: f64) -> Self {
        SimClock {
            anchor: Mutex::new(Anchor {
                real: Instant::now(),
                sim_ms: start_secs * 1000,
                scale: sanitize(scale),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Anchor> {
        self.anchor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulated Unix time in milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        let a = *self.lock();
        a.sim_ms + (a.real.elapsed().as_secs_f64() * a.scale * 1000.0) as i64
    }

    /// Simulated Unix time in seconds.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Changes the speed from now on; the current reading is kept.
    pub(crate) fn set_scale(&self, scale: f64) {
        let now = self.now_ms();
        let mut a = self.lock();
        *a = Anchor {
            real: Instant::now(),
            sim_ms: now,
            scale: sanitize(scale),
        };
    }

    /// Jumps the clock forward by `secs` simulated seconds.
    pub(crate) fn advance(&self, secs: u64) {
        let now = self.now_ms();
        let mut a = self.lock();
        a.real = Instant::now();
        a.sim_ms = now + (secs as i64) * 1000;
    }

    /// The real duration that `sim_ms` simulated milliseconds last at the current speed.
    pub(crate) fn real_duration(&self, sim_ms: i64) -> Duration {
        let scale = self.lock().scale;
        Duration::from_secs_f64(sim_ms.max(0) as f64 / 1000.0 / scale)
    }

    /// Whole real seconds (at least one) that `sim_ms` simulated milliseconds last: the unit of
    /// every duration told to a client (`Retry-After`, `expires_in`, reset counters).
    pub(crate) fn real_secs_ceil(&self, sim_ms: i64) -> u64 {
        (self.real_duration(sim_ms).as_secs_f64().ceil() as u64).max(1)
    }

    /// Simulated milliseconds that `real_secs` real seconds last at the current speed.
    pub(crate) fn sim_ms_for_real_secs(&self, real_secs: u64) -> i64 {
        (real_secs as f64 * 1000.0 * self.lock().scale) as i64
    }
}

fn sanitize(scale: f64) -> f64 {
    if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_time_and_scale_converts_durations() {
        let c = SimClock::new(1_000_000, 60.0);
        let t0 = c.now();
        c.advance(120);
        assert!(c.now() >= t0 + 120);
        // A simulated minute lasts one real second at 60x.
        assert_eq!(c.real_secs_ceil(60_000), 1);
        assert_eq!(c.sim_ms_for_real_secs(2), 120_000);
        c.set_scale(1.0);
        assert_eq!(c.real_secs_ceil(90_000), 90);
    }
}
