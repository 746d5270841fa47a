//! Whole-pool operations: one update touches every parameter of the network.

macro_rules! pool_kernels {
    ($t:ident) => {
        #[doc = concat!("Pool operations for `", stringify!($t), "`.")]
        pub mod $t {
            /// Plain gradient descent over the pool: `w −= lr · dw`.
            ///
            /// # Panics
            /// If the pools differ in length.
            #[inline]
            pub fn sgd_step(params: &mut [$t], grads: &[$t], lr: $t) {
                assert_eq!(params.len(), grads.len(), "sgd: pools differ");
                for (w, g) in params.iter_mut().zip(grads) {
                    *w -= lr * g;
                }
            }
        }
    };
}

pool_kernels!(f32);
pool_kernels!(f64);

#[cfg(test)]
mod tests {
    #[test]
    fn sgd_moves_against_the_gradient() {
        let mut w = [1.0f32, -2.0];
        super::f32::sgd_step(&mut w, &[0.5, -1.0], 0.1);
        assert_eq!(w, [0.95, -1.9]);
    }
}
