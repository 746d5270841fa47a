//! Finite-difference helpers for the kernel tests.

/// Central-difference gradient of `f` at `x`, step `1e-5`, in f64.
pub fn numeric_grad(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-5;
    let mut p = x.to_vec();
    (0..x.len())
        .map(|i| {
            p[i] = x[i] + h;
            let up = f(&p);
            p[i] = x[i] - h;
            let down = f(&p);
            p[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Largest relative error `|a − n| / max(|a|, |n|, 1e-3)` over the components.
pub fn rel_err(a: &[f64], n: &[f64]) -> f64 {
    assert_eq!(a.len(), n.len());
    a.iter()
        .zip(n)
        .map(|(a, n)| (a - n).abs() / a.abs().max(n.abs()).max(1e-3))
        .fold(0.0, f64::max)
}
