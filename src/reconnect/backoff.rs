//! The delay before each reconnection attempt: exponential growth from the minimum to the
//! maximum delay, lengthened by a random share (jitter).

use std::time::Duration;

use super::options::ReconnectOptions;

/// The delay before attempt `attempt` (1 for the first after a loss), with `random` (in
/// 0..1) choosing the jitter: `min_delay × growth_factor^(attempt−1)`, capped at the maximum,
/// then lengthened by `random × jitter` of itself, capped at the maximum again. Always within
/// `min_delay..=max_delay` for valid options.
pub(crate) fn delay(options: &ReconnectOptions, attempt: u32, random: f64) -> Duration {
    let max = options.max_delay.as_secs_f64();
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    // An overflow gives infinity, which the cap turns into the maximum.
    let base = (options.min_delay.as_secs_f64() * options.growth_factor.powi(exponent)).min(max);
    let jittered = (base * (1.0 + options.jitter * random.clamp(0.0, 1.0))).min(max);
    // Finite and within the maximum, so the conversion cannot fail.
    Duration::try_from_secs_f64(jittered)
        .unwrap_or(options.max_delay)
        .max(options.min_delay)
}

/// A uniformly random number in 0..1 for the jitter: the browser's `Math.random()` in a page,
/// fastrand (seeded per thread from the OS's hash keys) natively.
pub(crate) fn random_unit() -> f64 {
    cfg_if::cfg_if! {
        if #[cfg(target_arch = "wasm32")] {
            js_sys::Math::random()
        } else {
            fastrand::f64()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> ReconnectOptions {
        ReconnectOptions::new().jitter(0.0)
    }

    fn secs(delay: Duration) -> f64 {
        (delay.as_secs_f64() * 1000.0).round() / 1000.0
    }

    #[test]
    fn delays_grow_by_the_factor_from_the_minimum_to_the_maximum() {
        let delays: Vec<f64> = (1..=11).map(|k| secs(delay(&exact(), k, 0.0))).collect();
        assert_eq!(
            delays,
            [1.0, 1.3, 1.69, 2.197, 2.856, 3.713, 4.827, 6.275, 8.157, 10.0, 10.0]
        );
    }

    #[test]
    fn jitter_lengthens_a_delay_by_up_to_its_share_and_never_past_the_maximum() {
        let options = ReconnectOptions::new();
        assert_eq!(delay(&options, 1, 0.0), Duration::from_secs(1));
        assert_eq!(secs(delay(&options, 1, 0.999_999)), 1.5);
        assert_eq!(secs(delay(&options, 2, 0.5)), 1.625);
        // 8.157 s plus up to half of it would pass 10 s.
        assert_eq!(delay(&options, 9, 0.9), Duration::from_secs(10));
        assert_eq!(delay(&options, 50, 0.5), Duration::from_secs(10));
    }

    #[test]
    fn huge_attempt_numbers_stay_at_the_maximum() {
        assert_eq!(delay(&exact(), u32::MAX, 0.0), Duration::from_secs(10));
        let steep = exact().growth_factor(1e300);
        assert_eq!(delay(&steep, 3, 0.0), Duration::from_secs(10));
    }

    #[test]
    fn equal_minimum_and_maximum_give_a_constant_delay() {
        let flat = ReconnectOptions::new()
            .min_delay(Duration::from_millis(250))
            .max_delay(Duration::from_millis(250));
        for k in [1, 2, 10] {
            assert_eq!(delay(&flat, k, 0.7), Duration::from_millis(250));
        }
    }

    #[test]
    fn random_numbers_for_the_jitter_are_in_the_unit_interval_and_vary() {
        let draws: Vec<f64> = (0..100).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|r| (0.0..1.0).contains(r)), "{draws:?}");
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "{draws:?}");
    }
}
