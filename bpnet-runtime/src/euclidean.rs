//! The lecture's Euclidean energy: `E = ½‖X − Y‖²`; dE/dX = X − Y and dE/dY = Y − X.
//!
//! Its second derivatives (bbprop) are those of its own Hessian, the identity on each side:
//! `ddX = ddY = ddE`, as in *Efficient BackProp*'s Gauss–Newton sweep, where the energy at the top
//! keeps its exact Hessian and only the modules below square their Jacobians.
//!
//! A euclidean whose scalar output feeds another, nonlinear module instead (`d = euclidean(a, c);
//! out = t: tanh(d); …`) is one of those modules: `bbprop_inner` (and its `_acc` and minibatch
//! forms) squares its Jacobian, `ddX_i = ddE · (X_i − Y_i)²`.

macro_rules! euclidean_kernels {
    ($t:ident) => {
        #[doc = concat!("Euclidean kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// fprop: `e[0] = ½‖a − b‖²`.
            ///
            /// # Panics
            /// If `a` and `b` differ in length or `e` is not one component.
            #[inline]
            pub fn fprop(a: &[$t], b: &[$t], e: &mut [$t]) {
                assert_eq!(a.len(), b.len(), "euclidean: widths differ");
                assert_eq!(e.len(), 1, "euclidean: the energy is a scalar");
                e[0] = 0.5 * a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<$t>();
            }

            #[inline(always)]
            fn bprop_impl(x: &[$t], other: &[$t], de: &[$t], dx: &mut [$t], accumulate: bool) {
                assert!(
                    x.len() == other.len() && x.len() == dx.len(),
                    "euclidean: widths differ"
                );
                assert_eq!(de.len(), 1, "euclidean: the energy is a scalar");
                let g = de[0];
                for ((d, p), q) in dx.iter_mut().zip(x).zip(other) {
                    if accumulate {
                        *d += (p - q) * g;
                    } else {
                        *d = (p - q) * g;
                    }
                }
            }

            /// bprop to one argument: `dx = (x − other) · dE` (overwritten). Call it with the
            /// arguments swapped for the other side.
            ///
            /// # Panics
            /// If the lengths differ or `de` is not one component.
            #[inline]
            pub fn bprop(x: &[$t], other: &[$t], de: &[$t], dx: &mut [$t]) {
                bprop_impl(x, other, de, dx, false)
            }

            /// fprop for a minibatch: `e[r] = ½‖a_r − b_r‖²` for each of `rows` rows of `w`
            /// values.
            #[inline]
            pub fn fprop_batch(a: &[$t], b: &[$t], e: &mut [$t], w: usize, rows: usize) {
                for ((ar, br), er) in a
                    .chunks_exact(w)
                    .zip(b.chunks_exact(w))
                    .zip(e.chunks_exact_mut(1))
                    .take(rows)
                {
                    fprop(ar, br, er);
                }
            }

            #[inline(always)]
            fn bprop_batch_impl(
                x: &[$t],
                other: &[$t],
                de: &[$t],
                dx: &mut [$t],
                w: usize,
                rows: usize,
                accumulate: bool,
            ) {
                for (((xr, or), der), dxr) in x
                    .chunks_exact(w)
                    .zip(other.chunks_exact(w))
                    .zip(de.chunks_exact(1))
                    .zip(dx.chunks_exact_mut(w))
                    .take(rows)
                {
                    bprop_impl(xr, or, der, dxr, accumulate);
                }
            }

            /// bprop for a minibatch, row by row with each row's dE; `dx` overwritten.
            #[inline]
            pub fn bprop_batch(
                x: &[$t],
                other: &[$t],
                de: &[$t],
                dx: &mut [$t],
                w: usize,
                rows: usize,
            ) {
                bprop_batch_impl(x, other, de, dx, w, rows, false)
            }

            /// As [`bprop_batch`], but `dx` accumulated.
            #[inline]
            pub fn bprop_batch_acc(
                x: &[$t],
                other: &[$t],
                de: &[$t],
                dx: &mut [$t],
                w: usize,
                rows: usize,
            ) {
                bprop_batch_impl(x, other, de, dx, w, rows, true)
            }

            /// As [`bprop`], but `dx += (x − other) · dE`.
            ///
            /// # Panics
            /// If the lengths differ or `de` is not one component.
            #[inline]
            pub fn bprop_acc(x: &[$t], other: &[$t], de: &[$t], dx: &mut [$t]) {
                bprop_impl(x, other, de, dx, true)
            }

            #[inline(always)]
            fn bbprop_impl(x: &[$t], other: &[$t], dde: &[$t], ddx: &mut [$t], accumulate: bool) {
                assert!(
                    x.len() == other.len() && x.len() == ddx.len(),
                    "euclidean: widths differ"
                );
                assert_eq!(dde.len(), 1, "euclidean: the energy is a scalar");
                let h = dde[0];
                if accumulate {
                    for d in ddx.iter_mut() {
                        *d += h;
                    }
                } else {
                    ddx.fill(h);
                }
            }

            /// bbprop to one argument: `ddx = dde[0]` for every component (overwritten): the
            /// Hessian of `½‖x − other‖²` with respect to `x` is the identity, so its diagonal
            /// times `dde`. `x` and `other` are read only for their lengths; the same call serves
            /// both sides.
            ///
            /// # Panics
            /// If the lengths differ or `dde` is not one component.
            #[inline]
            pub fn bbprop(x: &[$t], other: &[$t], dde: &[$t], ddx: &mut [$t]) {
                bbprop_impl(x, other, dde, ddx, false)
            }

            /// As [`bbprop`], but `ddx += dde[0]`.
            ///
            /// # Panics
            /// If the lengths differ or `dde` is not one component.
            #[inline]
            pub fn bbprop_acc(x: &[$t], other: &[$t], dde: &[$t], ddx: &mut [$t]) {
                bbprop_impl(x, other, dde, ddx, true)
            }

            #[inline(always)]
            fn bbprop_batch_impl(
                x: &[$t],
                other: &[$t],
                dde: &[$t],
                ddx: &mut [$t],
                w: usize,
                rows: usize,
                row: impl Fn(&[$t], &[$t], &[$t], &mut [$t]),
            ) {
                let fits = |len: usize| rows.checked_mul(w).is_some_and(|need| len >= need);
                assert!(
                    fits(x.len()) && fits(other.len()) && fits(ddx.len()) && dde.len() >= rows,
                    "euclidean: fewer than `rows` rows"
                );
                if w == 0 {
                    return;
                }
                for (((xr, or), dder), ddxr) in x
                    .chunks_exact(w)
                    .zip(other.chunks_exact(w))
                    .zip(dde.chunks_exact(1))
                    .zip(ddx.chunks_exact_mut(w))
                    .take(rows)
                {
                    row(xr, or, dder, ddxr);
                }
            }

            /// bbprop for a minibatch of `rows` rows of `w` values: row `r` of `ddx` is set to
            /// `dde[r]` (overwritten).
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows.
            #[inline]
            pub fn bbprop_batch(
                x: &[$t],
                other: &[$t],
                dde: &[$t],
                ddx: &mut [$t],
                w: usize,
                rows: usize,
            ) {
                bbprop_batch_impl(x, other, dde, ddx, w, rows, |x, o, h, d| {
                    bbprop_impl(x, o, h, d, false)
                })
            }

            /// As [`bbprop_batch`], but `ddx` accumulated.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows.
            #[inline]
            pub fn bbprop_batch_acc(
                x: &[$t],
                other: &[$t],
                dde: &[$t],
                ddx: &mut [$t],
                w: usize,
                rows: usize,
            ) {
                bbprop_batch_impl(x, other, dde, ddx, w, rows, |x, o, h, d| {
                    bbprop_impl(x, o, h, d, true)
                })
            }

            #[inline(always)]
            fn bbprop_inner_impl(
                x: &[$t],
                other: &[$t],
                dde: &[$t],
                ddx: &mut [$t],
                accumulate: bool,
            ) {
                assert!(
                    x.len() == other.len() && x.len() == ddx.len(),
                    "euclidean: widths differ"
                );
                assert_eq!(dde.len(), 1, "euclidean: the energy is a scalar");
                let h = dde[0];
                for ((d, p), q) in ddx.iter_mut().zip(x).zip(other) {
                    let g = p - q;
                    if accumulate {
                        *d += h * (g * g);
                    } else {
                        *d = h * (g * g);
                    }
                }
            }

            /// bbprop to one argument for a euclidean **whose output feeds another module**
            /// (`d = euclidean(a, c); out = t: tanh(d); …`), not the network's energy: the
            /// Gauss–Newton term of a module inside the network, its Jacobian squared and its own
            /// Hessian dropped, `ddx_i = dde[0] · (x_i − other_i)²` (overwritten), where
            /// `x_i − other_i` is `∂s/∂x_i` for `s = ½‖x − other‖²`. Call it with the arguments
            /// swapped for the other side. Use [`bbprop`] when the euclidean is (or is added into)
            /// the energy.
            ///
            /// # Panics
            /// If the lengths differ or `dde` is not one component.
            #[inline]
            pub fn bbprop_inner(x: &[$t], other: &[$t], dde: &[$t], ddx: &mut [$t]) {
                bbprop_inner_impl(x, other, dde, ddx, false)
            }

            /// As [`bbprop_inner`] (the variant for a euclidean whose output feeds another
            /// module, not the energy), but `ddx_i += dde[0] · (x_i − other_i)²`.
            ///
            /// # Panics
            /// If the lengths differ or `dde` is not one component.
            #[inline]
            pub fn bbprop_inner_acc(x: &[$t], other: &[$t], dde: &[$t], ddx: &mut [$t]) {
                bbprop_inner_impl(x, other, dde, ddx, true)
            }

            /// [`bbprop_inner`] for a minibatch of `rows` rows of `w` values (the variant for a
            /// euclidean whose output feeds another module, not the energy): row `r` of `ddx` is
            /// `dde[r] · (x_r − other_r)²` (overwritten).
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows.
            #[inline]
            pub fn bbprop_inner_batch(
                x: &[$t],
                other: &[$t],
                dde: &[$t],
                ddx: &mut [$t],
                w: usize,
                rows: usize,
            ) {
                bbprop_batch_impl(x, other, dde, ddx, w, rows, |x, o, h, d| {
                    bbprop_inner_impl(x, o, h, d, false)
                })
            }

            /// As [`bbprop_inner_batch`] (the variant for a euclidean whose output feeds another
            /// module, not the energy), but `ddx` accumulated.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows.
            #[inline]
            pub fn bbprop_inner_batch_acc(
                x: &[$t],
                other: &[$t],
                dde: &[$t],
                ddx: &mut [$t],
                w: usize,
                rows: usize,
            ) {
                bbprop_batch_impl(x, other, dde, ddx, w, rows, |x, o, h, d| {
                    bbprop_inner_impl(x, o, h, d, true)
                })
            }
        }
    };
}

euclidean_kernels!(f32);
euclidean_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, rel_err};

    /// Relative tolerance of the finite-difference checks (central differences, f64, step 1e-5).
    const TOL: f64 = 1e-6;

    fn energy(a: &[f64], b: &[f64]) -> f64 {
        let mut e = [0.0];
        super::f64::fprop(a, b, &mut e);
        e[0]
    }

    #[test]
    fn fprop_and_bprop_both_sides() {
        let a = [0.2, -1.0, 3.0];
        let b = [1.2, 0.5, 2.5];
        assert!((energy(&a, &b) - 0.5 * (1.0 + 2.25 + 0.25)).abs() < 1e-15);
        let de = [1.7];
        let (mut da, mut db) = ([5.0; 3], [5.0; 3]);
        super::f64::bprop(&a, &b, &de, &mut da);
        super::f64::bprop(&b, &a, &de, &mut db);
        let nda: Vec<f64> = numeric_grad(&a, |a| energy(a, &b))
            .iter()
            .map(|g| g * 1.7)
            .collect();
        let ndb: Vec<f64> = numeric_grad(&b, |b| energy(&a, b))
            .iter()
            .map(|g| g * 1.7)
            .collect();
        assert!(rel_err(&da, &nda) < TOL, "{da:?} {nda:?}");
        assert!(rel_err(&db, &ndb) < TOL, "{db:?} {ndb:?}");

        super::f64::bprop_acc(&a, &b, &de, &mut da);
        let want: Vec<f64> = nda.iter().map(|g| 2.0 * g).collect();
        assert!(rel_err(&da, &want) < TOL);
    }

    /// bbprop against the diagonal of the energy's Hessian from second central differences of
    /// fprop, on both sides, times `dde`. The energy is the last module of the Gauss–Newton
    /// sweep: what it passes back is its own Hessian (the identity), not the square of its
    /// Jacobian `(x − other)²`. Tolerance: relative 1e-6 ([`rel_err`]); `E` is quadratic, so
    /// the differences at step 1e-3 are exact up to rounding, `4 ε |E| / h² ≈ 1e-9 |E|`.
    #[test]
    fn bbprop_is_the_hessian_diagonal() {
        use crate::testing::numeric_second;
        let (a, b) = ([0.2, -1.0, 3.0, 0.7], [1.2, 0.5, 2.5, -0.4]);
        let dde = [1.7];
        let (mut dda, mut ddb) = ([5.0; 4], [5.0; 4]);
        super::f64::bbprop(&a, &b, &dde, &mut dda);
        super::f64::bbprop(&b, &a, &dde, &mut ddb);
        let ndda: Vec<f64> = numeric_second(&a, |a| energy(a, &b))
            .iter()
            .map(|h| h * 1.7)
            .collect();
        let nddb: Vec<f64> = numeric_second(&b, |b| energy(&a, b))
            .iter()
            .map(|h| h * 1.7)
            .collect();
        assert!(rel_err(&dda, &ndda) < TOL, "{dda:?} {ndda:?}");
        assert!(rel_err(&ddb, &nddb) < TOL, "{ddb:?} {nddb:?}");

        super::f64::bbprop_acc(&a, &b, &dde, &mut dda);
        let want: Vec<f64> = ndda.iter().map(|h| 2.0 * h).collect();
        assert!(rel_err(&dda, &want) < TOL);

        // f32: the same values (a copy of dde).
        let mut dda32 = [5.0f32; 4];
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        super::f32::bbprop(&f(&a), &f(&b), &[1.7], &mut dda32);
        assert_eq!(dda32, [1.7f32; 4]);
        super::f32::bbprop_acc(&f(&a), &f(&b), &[0.5], &mut dda32);
        assert_eq!(dda32, [2.2f32; 4]);
    }

    /// A minibatch gives row `r` what per-sample bbprop gives it with `dde[r]`.
    #[test]
    fn bbprop_batch_equals_rows() {
        let a = [0.2, -1.0, 3.0, 0.7, 1.1, -0.6];
        let b = [1.2, 0.5, 2.5, -0.4, 0.0, 0.3];
        let dde = [1.7, 0.25, 3.0];
        let mut dda = [9.0; 7];
        super::f64::bbprop_batch(&a, &b, &dde, &mut dda, 2, 3);
        for r in 0..3 {
            let s = 2 * r..2 * r + 2;
            let mut row = [0.0; 2];
            super::f64::bbprop(&a[s.clone()], &b[s.clone()], &dde[r..r + 1], &mut row);
            assert_eq!(row, dda[s]);
            assert_eq!(row, [dde[r]; 2]);
        }
        assert_eq!(dda[6], 9.0, "past the rows");
        super::f64::bbprop_batch_acc(&b, &a, &dde, &mut dda, 2, 3);
        assert_eq!(dda, [3.4, 3.4, 0.5, 0.5, 6.0, 6.0, 9.0]);
        // Width 0 is accepted.
        super::f64::bbprop_batch(&[], &[], &dde, &mut [], 0, 3);
    }

    #[test]
    #[should_panic(expected = "fewer than `rows` rows")]
    fn bbprop_batch_checks_the_rows() {
        super::f64::bbprop_batch(&[0.0; 6], &[0.0; 6], &[1.0; 2], &mut [0.0; 6], 2, 3);
    }

    #[test]
    fn f32_energy() {
        let mut e = [0.0f32];
        super::f32::fprop(&[1.0, 2.0], &[0.0, 0.0], &mut e);
        assert_eq!(e, [2.5]);
    }

    /// The variant for a euclidean whose output feeds another module: `ddx = dds · J²` with `J`
    /// the Jacobian of fprop from central differences at step 1e-4
    /// ([`crate::testing::JACOBIAN_STEP`]), on both sides. Tolerance: relative 1e-6
    /// ([`rel_err`]); `E` is quadratic, so the differences are exact up to rounding,
    /// `ε |E| / h ≈ 2e-12 |E|`, doubled by the square.
    #[test]
    fn bbprop_inner_is_the_squared_jacobian() {
        let (a, b) = ([0.2, -1.0, 3.0, 0.7], [1.2, 0.5, 2.5, -0.4]);
        let dds = 1.7;
        let (mut dda, mut ddb) = ([5.0; 4], [5.0; 4]);
        super::f64::bbprop_inner(&a, &b, &[dds], &mut dda);
        super::f64::bbprop_inner(&b, &a, &[dds], &mut ddb);
        let nda = gauss_newton_diag(&a, &[dds], |a, e| super::f64::fprop(a, &b, e));
        let ndb = gauss_newton_diag(&b, &[dds], |b, e| super::f64::fprop(&a, b, e));
        assert!(rel_err(&dda, &nda) < TOL, "{dda:?} {nda:?}");
        assert!(rel_err(&ddb, &ndb) < TOL, "{ddb:?} {ndb:?}");
        // Not the energy's Hessian (what `bbprop` gives).
        let mut hess = [0.0; 4];
        super::f64::bbprop(&a, &b, &[dds], &mut hess);
        assert!(rel_err(&dda, &hess) > 0.1);

        // The accumulating form adds onto what is there.
        let start = [-0.5, 0.5, 1.5, 2.5];
        let mut acc = start;
        super::f64::bbprop_inner_acc(&a, &b, &[dds], &mut acc);
        for i in 0..4 {
            assert_eq!(acc[i], start[i] + dda[i]);
        }

        // f32 against f64 on the same (f32) inputs: a subtraction and two products, within
        // 3 f32 roundings (3.6e-7 relative); 1e-6 relative allowed.
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (a32, b32) = (f(&a), f(&b));
        let (mut dd32, mut dd64) = ([9.0f32; 4], [0.0; 4]);
        super::f32::bbprop_inner(&a32, &b32, &[1.7], &mut dd32);
        let w = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        super::f64::bbprop_inner(&w(&a32), &w(&b32), &[1.7f32 as f64], &mut dd64);
        for i in 0..4 {
            assert!(
                (dd32[i] as f64 - dd64[i]).abs() <= 1e-6 * dd64[i].abs(),
                "{dd32:?} {dd64:?}"
            );
        }
        let mut acc32 = [1.0f32; 4];
        super::f32::bbprop_inner_acc(&a32, &b32, &[1.7], &mut acc32);
        for i in 0..4 {
            assert_eq!(acc32[i], 1.0 + dd32[i]);
        }
    }

    /// A minibatch gives row `r` what per-sample bbprop_inner gives it with `dde[r]`, bit for
    /// bit, and leaves what is past the rows alone.
    #[test]
    fn bbprop_inner_batch_equals_rows() {
        let a = [0.2, -1.0, 3.0, 0.7, 1.1, -0.6];
        let b = [1.2, 0.5, 2.5, -0.4, 0.0, 0.3];
        let dde = [1.7, 0.25, 3.0];
        let mut dda = [9.0; 7];
        super::f64::bbprop_inner_batch(&a, &b, &dde, &mut dda, 2, 3);
        for r in 0..3 {
            let s = 2 * r..2 * r + 2;
            let mut row = [0.0; 2];
            super::f64::bbprop_inner(&a[s.clone()], &b[s.clone()], &dde[r..r + 1], &mut row);
            assert_eq!(row, dda[s]);
        }
        assert_eq!(dda[6], 9.0, "past the rows");
        let mut ddb = [9.0; 7];
        super::f64::bbprop_inner_batch_acc(&b, &a, &dde, &mut ddb, 2, 3);
        for r in 0..3 {
            let s = 2 * r..2 * r + 2;
            let mut row = [9.0; 2];
            super::f64::bbprop_inner_acc(&b[s.clone()], &a[s.clone()], &dde[r..r + 1], &mut row);
            assert_eq!(row, ddb[s]);
        }
        assert_eq!(ddb[6], 9.0, "past the rows");
        // Width 0 is accepted.
        super::f64::bbprop_inner_batch(&[], &[], &dde, &mut [], 0, 3);
    }

    #[test]
    #[should_panic(expected = "fewer than `rows` rows")]
    fn bbprop_inner_batch_checks_the_rows() {
        super::f64::bbprop_inner_batch(&[0.0; 6], &[0.0; 6], &[1.0; 2], &mut [0.0; 6], 2, 3);
    }
}
