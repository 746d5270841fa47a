//! Whole-pool operations: one update touches every parameter of the network.

macro_rules! pool_kernels {
    ($t:ident) => {
        #[doc = concat!("Pool operations for `", stringify!($t), "`.")]
        pub mod $t {
            /// `w −= lr · dw`, the loop itself, compiled for the caller's instruction set.
            #[inline(always)]
            fn sgd(params: &mut [$t], grads: &[$t], lr: $t) {
                for (w, g) in params.iter_mut().zip(grads) {
                    *w -= lr * g;
                }
            }

            /// [`sgd`] compiled for AVX: 8 `f32` (4 `f64`) a step instead of SSE's 4, the same
            /// bits (a multiply, then a subtraction, no fused multiply-add).
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx")]
            fn sgd_avx(params: &mut [$t], grads: &[$t], lr: $t) {
                sgd(params, grads, lr)
            }

            /// Pools at least this long are updated and zeroed by every thread of a network's
            /// minibatch products, when it has several (256 KB of `f32`: below, waking a helper
            /// costs more than it saves).
            pub const SPLIT_MIN: usize = 1 << 16;

            #[cfg(feature = "std")]
            /// [`sgd_step`] shared by the threads of `scratch` for a large pool (see
            /// [`SPLIT_MIN`]): the same bits, elementwise.
            ///
            /// # Panics
            /// If the pools differ in length.
            #[inline]
            pub fn sgd_step_on(
                params: &mut [$t],
                grads: &[$t],
                lr: $t,
                scratch: &mut crate::gemm::GemmScratch<$t>,
            ) {
                assert_eq!(params.len(), grads.len(), "sgd: pools differ");
                scratch.split(params, grads, SPLIT_MIN, &|w, g| sgd_step(w, g, lr));
            }

            #[cfg(feature = "std")]
            /// Sets `grads` to zero, shared by the threads of `scratch` for a large pool.
            #[inline]
            pub fn zero_on(grads: &mut [$t], scratch: &mut crate::gemm::GemmScratch<$t>) {
                scratch.split(grads, &[], SPLIT_MIN, &|g, _| g.fill(-0.0));
            }

            /// Plain gradient descent over the pool: `w −= lr · dw`.
            ///
            /// # Panics
            /// If the pools differ in length.
            #[inline]
            pub fn sgd_step(params: &mut [$t], grads: &[$t], lr: $t) {
                assert_eq!(params.len(), grads.len(), "sgd: pools differ");
                // A small pool is done before a call would return.
                #[cfg(target_arch = "x86_64")]
                if params.len() >= 64 && cpu_has!("avx") {
                    // SAFETY: the CPU has AVX.
                    return unsafe { sgd_avx(params, grads, lr) };
                }
                sgd(params, grads, lr)
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
