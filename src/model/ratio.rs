//! Shares of events (error rate, buffer pool hit rate): one function and one
//! minimum, so that every ratio of counts in the program is taken the same way.

/// Below this many events in the denominator a share is not a measurement:
/// 1 failure in 8 requests reads 12.5 %, and an idle server's buffer pool
/// with a handful of page requests in a second read 87.5 %. Not higher: the
/// shared real example's DDL window held 70 transaction attempts, 16 of them
/// failed, and that 22.8 % is the window's story, not noise.
pub const MIN_EVENTS_FOR_A_RATIO: f64 = 50.0;

/// A share of events, in percent, or too few events to tell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Share {
    Pct(f64),
    /// `events` in the denominator, fewer than [`MIN_EVENTS_FOR_A_RATIO`].
    Insufficient {
        events: f64,
    },
}

impl Share {
    pub fn pct(self) -> Option<f64> {
        match self {
            Share::Pct(v) => Some(v),
            Share::Insufficient { .. } => None,
        }
    }
}

/// `part` of `whole` in percent (clamped to 0–100: a counter read a moment
/// apart from the other can overshoot), or [`Share::Insufficient`] when
/// `whole` is below [`MIN_EVENTS_FOR_A_RATIO`] (or not a number).
pub fn share_pct(part: f64, whole: f64) -> Share {
    if !whole.is_finite() || whole < MIN_EVENTS_FOR_A_RATIO || !part.is_finite() {
        return Share::Insufficient {
            events: if whole.is_finite() {
                whole.max(0.0)
            } else {
                0.0
            },
        };
    }
    Share::Pct((part / whole * 100.0).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_enough_events_is_part_over_whole() {
        assert_eq!(share_pct(16.0, 160.0), Share::Pct(10.0));
        assert_eq!(share_pct(0.0, 100.0), Share::Pct(0.0));
        assert_eq!(share_pct(100.0, 100.0), Share::Pct(100.0));
        assert_eq!(share_pct(120.0, 100.0), Share::Pct(100.0), "clamped");
    }

    #[test]
    fn below_the_minimum_it_is_insufficient_not_a_number() {
        // The idle server's reading: 7 of 8 page requests from memory.
        assert_eq!(share_pct(7.0, 8.0), Share::Insufficient { events: 8.0 });
        assert_eq!(share_pct(49.0, 49.0).pct(), None);
        assert_eq!(
            share_pct(16.0, 70.0).pct().map(|p| (p * 100.0).round()),
            Some(2286.0)
        );
        assert_eq!(share_pct(0.0, 0.0), Share::Insufficient { events: 0.0 });
        assert_eq!(share_pct(1.0, f64::NAN).pct(), None);
        assert_eq!(share_pct(f64::NAN, 500.0).pct(), None);
    }
}
