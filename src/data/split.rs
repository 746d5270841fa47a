//! Seeded, stratified train/test splits.

use std::collections::BTreeMap;

use super::DataError;

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny generator whose stream is fixed by this code,
/// so a split does not change when a dependency's generator does.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (multiply-shift; the bias, below n / 2⁶⁴, does not matter here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn shuffle(&mut self, v: &mut [usize]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Splits the samples `0..labels.len()` into `(train, test)` index lists, stratified: each class
/// gives the test part its share of `test_fraction`, so both parts keep the classes' proportions.
///
/// - The test part has `round(test_fraction × n)` samples; each class gives
///   `⌊test_fraction × its count⌋` and the remainder goes to the classes with the largest
///   fractional parts (ties to the smaller label).
/// - Which samples of a class go to the test part is drawn by a shuffle seeded with `seed`. The
///   generator is part of this function (SplitMix64), so the split depends only on `labels`,
///   `test_fraction` and `seed`: the same on every machine and with any version of `rand`.
/// - Both lists are sorted (the samples keep their order in the file); together they hold every
///   index once.
///
/// # Panics
///
/// If `test_fraction` is not in `[0, 1]` ([`try_split_indices`] returns the error instead).
///
/// ```
/// use bpnet::data::split_indices;
///
/// let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
/// let (train, test) = split_indices(&labels, 0.25, 42);
/// assert_eq!(test.len(), 3);                                    // round(0.25 × 12)
/// assert_eq!(test.iter().filter(|&&i| labels[i] == 1).count(), 2); // 0.25 × 8
/// assert_eq!(train.len() + test.len(), labels.len());
/// assert_eq!(split_indices(&labels, 0.25, 42), (train, test));  // same seed, same split
/// ```
#[track_caller]
pub fn split_indices(labels: &[usize], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    super::or_panic(try_split_indices(labels, test_fraction, seed))
}

/// The split of [`split_indices`], or [`DataError::BadFraction`] if `test_fraction` is not in
/// `[0, 1]` (NaN included), e.g. a fraction read from a command line.
///
/// ```
/// use bpnet::data::{DataError, try_split_indices};
///
/// let (train, test) = try_split_indices(&[0, 1, 0, 1], 0.5, 7)?;
/// assert_eq!((train.len(), test.len()), (2, 2));
/// assert!(matches!(try_split_indices(&[0, 1], f64::NAN, 7), Err(DataError::BadFraction { .. })));
/// # Ok::<(), DataError>(())
/// ```
pub fn try_split_indices(
    labels: &[usize],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), DataError> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(DataError::BadFraction {
            fraction: test_fraction,
        });
    }
    let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(i);
    }
    let total = (test_fraction * labels.len() as f64).round() as usize;
    // Largest remainders: floors first, then one more for the largest fractional parts.
    let mut shares: Vec<(usize, f64)> = classes
        .values()
        .map(|members| {
            let exact = test_fraction * members.len() as f64;
            let floor = (exact.floor() as usize).min(members.len());
            (floor, exact - floor as f64)
        })
        .collect();
    let given: usize = shares.iter().map(|s| s.0).sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].1.total_cmp(&shares[a].1).then(a.cmp(&b)));
    let mut missing = total.saturating_sub(given);
    for c in order {
        if missing == 0 {
            break;
        }
        let size = classes.values().nth(c).map_or(0, Vec::len);
        if shares[c].0 < size {
            shares[c].0 += 1;
            missing -= 1;
        }
    }

    let mut rng = SplitMix64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (mut members, (k, _)) in classes.into_values().zip(shares) {
        rng.shuffle(&mut members);
        test.extend_from_slice(&members[..k]);
        train.extend_from_slice(&members[k..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // The first outputs for seed 1234567 of the reference C code (Vigna, splitmix64.c).
        let mut rng = SplitMix64(1234567);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423
            ]
        );
    }

    #[test]
    fn shuffles_are_permutations_and_vary_with_the_seed() {
        let mut a: Vec<usize> = (0..50).collect();
        let mut b = a.clone();
        SplitMix64(1).shuffle(&mut a);
        SplitMix64(2).shuffle(&mut b);
        assert_ne!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn shares_add_up_to_the_rounded_total() {
        // Three classes of 3: 1/3 each would give 0.9 + 0.9 + 0.9 floored to 0.
        let labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
        for (fraction, expected) in [(0.0, 0), (0.3, 3), (0.5, 5), (0.75, 7), (1.0, 9)] {
            let (train, test) = split_indices(&labels, fraction, 3);
            assert_eq!(test.len(), expected, "fraction {fraction}");
            assert_eq!(train.len(), 9 - expected);
        }
    }

    #[test]
    #[should_panic(expected = "test fraction")]
    fn fraction_above_one_panics() {
        split_indices(&[0, 1], 1.5, 0);
    }

    #[test]
    fn a_fraction_outside_zero_one_is_an_error() {
        for fraction in [-0.0 - 1e-9, 1.0 + 1e-9, f64::NAN, f64::NEG_INFINITY] {
            let err = try_split_indices(&[0, 1], fraction, 0).unwrap_err();
            assert!(matches!(err, DataError::BadFraction { .. }), "{fraction}");
            assert!(
                err.to_string()
                    .starts_with("the test fraction must be in [0, 1]")
            );
        }
        assert_eq!(
            try_split_indices(&[0, 1], 1.0, 0).unwrap(),
            split_indices(&[0, 1], 1.0, 0)
        );
        // No samples: two empty parts.
        assert_eq!(try_split_indices(&[], 0.5, 0).unwrap(), (vec![], vec![]));
    }
}
