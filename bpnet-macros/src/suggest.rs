//! "Did you mean": the known name nearest to a mistyped one. Names are compared without case
//! and `_` (`LeakyRelu` is `leaky_relu`), by Damerau–Levenshtein distance (an adjacent swap,
//! `tahn` for `tanh`, is one edit).

/// A name as compared: lower case, without `_`.
fn folded(name: &str) -> Vec<char> {
    name.chars()
        .filter(|&c| c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `a` and `b` are one name but for case and `_`.
pub fn same_but_case(a: &str, b: &str) -> bool {
    folded(a) == folded(b)
}

/// The edits (insert, delete, substitute, swap two adjacent) from `a` to `b`, folded.
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (folded(a), folded(b));
    // d[i][j]: the distance from a[..i] to b[..j].
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// How many edits a typo of a known name of `len` (folded) characters may have.
fn reach(len: usize) -> usize {
    if len < 5 { 1 } else { 2 }
}

/// The known name nearest to `name`, if it is near enough to be a likely typo (ties: the first
/// in alphabetical order); `None` for `name` itself. Fewer edits than `name` has characters:
/// `x` is no typo of `y`.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = folded(name).len();
    known
        .into_iter()
        .filter(|&k| k != name)
        .map(|k| (distance(name, k), k))
        .filter(|&(d, k)| d <= reach(folded(k).len()) && d < typed.max(1))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &[&str] = &[
        "linear",
        "tanh",
        "sigmoid",
        "scaled_tanh",
        "relu",
        "leaky_relu",
        "softplus",
        "scale",
        "add",
        "sub",
        "mul",
        "sum",
        "cross_entropy",
    ];

    fn kind(name: &str) -> Option<&'static str> {
        closest(name, KINDS.iter().copied())
    }

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        assert_eq!(distance("tahn", "tanh"), 1);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("ca", "abc"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn distance_ignores_case_and_underscores() {
        assert_eq!(distance("LeakyRelu", "leaky_relu"), 0);
        assert_eq!(distance("Cross_Entropy", "crossentropy"), 0);
        assert!(same_but_case("ScaledTanh", "scaled_tanh"));
        assert!(!same_but_case("Tahn", "tanh"));
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(kind("tahn"), Some("tanh"));
        assert_eq!(kind("lineer"), Some("linear"));
        assert_eq!(kind("sigmod"), Some("sigmoid"));
        assert_eq!(kind("relu6"), Some("relu"));
        assert_eq!(kind("Tanh"), Some("tanh"));
        assert_eq!(kind("CrossEntropy"), Some("cross_entropy"));
        assert_eq!(kind("softpls"), Some("softplus"));
    }

    #[test]
    fn far_names_get_no_suggestion() {
        assert_eq!(kind("softmax"), None);
        assert_eq!(kind("conv"), None);
        assert_eq!(kind("x"), None);
        assert_eq!(closest("hidn", ["x", "y"]), None);
        assert_eq!(closest("a", ["b"]), None);
        assert_eq!(closest("x", ["y", "xyz"]), None);
    }

    #[test]
    fn a_short_name_allows_one_edit_a_long_one_two() {
        assert_eq!(closest("mull", ["mul"]), Some("mul"));
        assert_eq!(closest("mulll", ["mul"]), None);
        assert_eq!(closest("hiden", ["hidden"]), Some("hidden"));
        assert_eq!(closest("hidn", ["hidden"]), Some("hidden"));
        assert_eq!(closest("hd", ["hidden"]), None);
        assert_eq!(closest("yy", ["y", "x"]), Some("y"));
    }

    #[test]
    fn ties_go_to_the_first_alphabetically() {
        assert_eq!(closest("sux", ["sum", "sub"]), Some("sub"));
        assert_eq!(closest("X", ["y", "x"]), Some("x"));
    }
}
