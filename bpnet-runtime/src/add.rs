//! Fan-in: the sum of states of equal width. Its Jacobian to each input is the identity.

macro_rules! add_kernels {
    ($t:ident) => {
        #[doc = concat!("Add kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// fprop of the first two inputs: `y = a + b`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn fprop(a: &[$t], b: &[$t], y: &mut [$t]) {
                assert!(
                    a.len() == b.len() && a.len() == y.len(),
                    "add: widths differ"
                );
                for ((yi, p), q) in y.iter_mut().zip(a).zip(b) {
                    *yi = p + q;
                }
            }

            /// fprop of each further input: `y += a`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn fprop_acc(a: &[$t], y: &mut [$t]) {
                assert_eq!(a.len(), y.len(), "add: widths differ");
                for (yi, p) in y.iter_mut().zip(a) {
                    *yi += p;
                }
            }

            /// bprop to one input: `dx = dy` (overwritten).
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop(dy: &[$t], dx: &mut [$t]) {
                dx.copy_from_slice(dy);
            }

            /// bprop to one input of a state that feeds several modules: `dx += dy`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop_acc(dy: &[$t], dx: &mut [$t]) {
                fprop_acc(dy, dx)
            }
        }
    };
}

add_kernels!(f32);
add_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{numeric_grad, rel_err};

    fn energy(a: &[f64], b: &[f64], c: &[f64], dy: &[f64]) -> f64 {
        let mut y = vec![0.0; a.len()];
        super::f64::fprop(a, b, &mut y);
        super::f64::fprop_acc(c, &mut y);
        y.iter().zip(dy).map(|(p, q)| p * q).sum()
    }

    #[test]
    fn three_way_sum_and_its_gradient() {
        let (a, b, c) = ([1.0, 2.0], [0.5, -1.0], [3.0, 0.25]);
        let dy = [0.7, -1.1];
        let mut y = [0.0; 2];
        super::f64::fprop(&a, &b, &mut y);
        super::f64::fprop_acc(&c, &mut y);
        assert_eq!(y, [4.5, 1.25]);
        let mut da = [3.0; 2];
        super::f64::bprop(&dy, &mut da);
        let nda = numeric_grad(&a, |a| energy(a, &b, &c, &dy));
        assert!(rel_err(&da, &nda) < 1e-6);
        let ndc = numeric_grad(&c, |c| energy(&a, &b, c, &dy));
        let mut dc = [1.0; 2];
        super::f64::bprop_acc(&dy, &mut dc);
        let want: Vec<f64> = ndc.iter().map(|v| v + 1.0).collect();
        assert!(rel_err(&dc, &want) < 1e-6);
    }
}
