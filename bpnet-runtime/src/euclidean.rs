//! The lecture's Euclidean energy: `E = ½‖X − Y‖²`; dE/dX = X − Y and dE/dY = Y − X.

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
        }
    };
}

euclidean_kernels!(f32);
euclidean_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{numeric_grad, rel_err};

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

    #[test]
    fn f32_energy() {
        let mut e = [0.0f32];
        super::f32::fprop(&[1.0, 2.0], &[0.0, 0.0], &mut e);
        assert_eq!(e, [2.5]);
    }
}
