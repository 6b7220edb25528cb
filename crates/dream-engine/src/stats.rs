//! Statistics for outcome association: failure rates with and without a pattern, lift,
//! and Fisher's exact test (two-sided), computed exactly from log-factorials.

use dream_types::OutcomeStats;

/// Returns ln(n!) for 0..=n.
fn ln_factorials(n: u64) -> Vec<f64> {
    let mut table = Vec::with_capacity(n as usize + 1);
    let mut acc = 0.0_f64;
    table.push(0.0);
    for k in 1..=n {
        acc += (k as f64).ln();
        table.push(acc);
    }
    table
}

/// Returns the two-sided p-value of Fisher's exact test for the 2×2 table
/// `[[a, b], [c, d]]`: the total probability, under fixed margins, of every table
/// at most as likely as the observed one (Fisher 1922; the usual "sum of small p"
/// definition, with a relative tolerance of 1e-7 for ties).
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let n = a + b + c + d;
    if n == 0 {
        return 1.0;
    }
    let ln_f = ln_factorials(n);
    let (row1, col1) = (a + b, a + c);
    let (row2, col2) = (c + d, b + d);
    let fixed =
        ln_f[row1 as usize] + ln_f[row2 as usize] + ln_f[col1 as usize] + ln_f[col2 as usize]
            - ln_f[n as usize];
    let ln_p = |x: u64| {
        let (xa, xb, xc) = (x, row1 - x, col1 - x);
        let xd = row2 - xc;
        fixed - ln_f[xa as usize] - ln_f[xb as usize] - ln_f[xc as usize] - ln_f[xd as usize]
    };
    let observed = ln_p(a);
    let low = col1.saturating_sub(row2);
    let high = row1.min(col1);
    let mut total = 0.0;
    for x in low..=high {
        let p = ln_p(x);
        if p <= observed + 1e-7 {
            total += p.exp();
        }
    }
    total.min(1.0)
}

/// Compares the failure rate of sessions with a pattern against sessions without it.
/// `significance` is the level below which a higher failure rate counts as significant.
pub fn outcome_stats(
    with_sessions: u64,
    with_failed: u64,
    without_sessions: u64,
    without_failed: u64,
    significance: f64,
) -> OutcomeStats {
    let rate = |failed: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            failed as f64 / total as f64
        }
    };
    let failure_rate_with = rate(with_failed, with_sessions);
    let failure_rate_without = rate(without_failed, without_sessions);
    let p_value = fisher_exact(
        with_failed,
        with_sessions - with_failed,
        without_failed,
        without_sessions - without_failed,
    );
    OutcomeStats {
        with_sessions,
        with_failed,
        without_sessions,
        without_failed,
        failure_rate_with,
        failure_rate_without,
        lift: (failure_rate_without > 0.0).then(|| failure_rate_with / failure_rate_without),
        p_value,
        test: "fisher_exact_two_sided".to_owned(),
        significant: p_value < significance && failure_rate_with > failure_rate_without,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_matches_reference_values() {
        // Fisher's tea-tasting table: p = 0.4857 (two-sided).
        assert!((fisher_exact(3, 1, 1, 3) - 0.485_714_285_7).abs() < 1e-9);
        // Exact value from Python integer arithmetic (math.comb): 0.0087222025685260.
        assert!((fisher_exact(12, 1, 104, 83) - 0.008_722_202_568_526).abs() < 1e-12);
        assert!((fisher_exact(0, 0, 0, 0) - 1.0).abs() < 1e-12);
        assert!((fisher_exact(5, 0, 0, 5) - 0.007_936_507_9).abs() < 1e-9);
    }

    #[test]
    fn stats_report_rates_lift_and_significance() {
        let s = outcome_stats(13, 12, 187, 104, 0.05);
        assert!((s.failure_rate_with - 12.0 / 13.0).abs() < 1e-12);
        assert!((s.lift.unwrap() - (12.0 / 13.0) / (104.0 / 187.0)).abs() < 1e-12);
        assert!(s.significant);
        let n = outcome_stats(4, 0, 196, 116, 0.05);
        assert!(
            !n.significant,
            "fewer failures with the pattern is not a risk"
        );
    }
}
