//! The per-client rate limit of RUM pushes, sans-I/O: a token bucket per client, refilled at
//! `RUM_RATE_LIMIT` pushes a minute and holding at most that many (a burst of a minute's
//! worth). A push past it gets 429 with `Retry-After`, as any sender expects.
//!
//! ```
//! use edgewrite::rum::limit::{Bucket, Rate};
//!
//! let rate = Rate::parse("2/m").unwrap();
//! let mut bucket = Bucket::default();
//! assert!(bucket.take(rate, 0).is_ok());
//! assert!(bucket.take(rate, 0).is_ok());
//! assert_eq!(bucket.take(rate, 0), Err(30), "a token comes back in 30 s");
//! assert!(bucket.take(rate, 30_000).is_ok());
//! ```

/// Pushes a minute per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Pushes a minute (and the largest burst).
    pub per_minute: u32,
}

impl Rate {
    /// `120/m` (or `2/s`, `7200/h`): pushes per minute, second or hour.
    ///
    /// # Errors
    /// A message saying how to write it.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?}: write pushes per minute, second or hour, e.g. 120/m");
        let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        let per_minute = match unit.trim() {
            "s" => n.checked_mul(60),
            "m" => Some(n),
            "h" => Some(n.div_ceil(60)),
            _ => None,
        }
        .ok_or_else(bad)?;
        match u32::try_from(per_minute) {
            Ok(per_minute) if per_minute > 0 => Ok(Rate { per_minute }),
            _ => Err(bad()),
        }
    }
}

/// One client's bucket: tokens left, as of a time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bucket {
    /// Tokens spent beyond the full bucket's refill, as of `at_ms` (0: full).
    spent: f64,
    at_ms: i64,
}

impl Bucket {
    /// Takes a token at `now_ms`, or says in how many seconds one is back.
    ///
    /// # Errors
    /// The seconds to wait (at least 1): the value of `Retry-After`.
    pub fn take(&mut self, rate: Rate, now_ms: i64) -> Result<(), u64> {
        let per_ms = f64::from(rate.per_minute) / 60_000.0;
        let elapsed = now_ms.saturating_sub(self.at_ms).max(0) as f64;
        self.spent = (self.spent - elapsed * per_ms).max(0.0);
        self.at_ms = now_ms.max(self.at_ms);
        if self.spent + 1.0 <= f64::from(rate.per_minute) {
            self.spent += 1.0;
            Ok(())
        } else {
            let wait_ms = (self.spent + 1.0 - f64::from(rate.per_minute)) / per_ms;
            Err(((wait_ms / 1000.0).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let rate = Rate::parse("60/m").unwrap();
        let mut b = Bucket::default();
        for _ in 0..60 {
            assert!(b.take(rate, 1_000).is_ok(), "a minute's worth at once");
        }
        assert_eq!(b.take(rate, 1_000), Err(1));
        assert!(b.take(rate, 2_000).is_ok(), "one a second after");
        assert_eq!(b.take(rate, 2_000), Err(1));
        // A clock that steps back refills nothing and breaks nothing.
        assert_eq!(b.take(rate, 0), Err(1));
        assert!(b.take(rate, 100_000).is_ok());
    }

    #[test]
    fn rates_parse_as_written() {
        assert_eq!(Rate::parse("2/s"), Ok(Rate { per_minute: 120 }));
        assert_eq!(Rate::parse(" 90 / m "), Ok(Rate { per_minute: 90 }));
        assert_eq!(Rate::parse("30/h"), Ok(Rate { per_minute: 1 }));
        for bad in ["", "60", "0/m", "-1/m", "1/d", "x/m", "99999999999/s"] {
            assert!(Rate::parse(bad).unwrap_err().contains("e.g. 120/m"), "{bad}");
        }
    }
}
