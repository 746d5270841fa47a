//! Dropout (Srivastava, Hinton et al. 2014), inverted: in training, each component is kept with
//! probability `1 − p` and scaled by `1/(1 − p)`, else set to zero, so that the expected output is
//! the input and evaluation needs no rescaling; in evaluation (`set_training(false)`) the module
//! is the identity.
//!
//! The mask is not stored: it is a hash of the network's seed, the number of its forward pass,
//! the module, the step and the component ([`Key`]), recomputed by bprop and bbprop, so a
//! dropout module needs no memory and allocates nothing, the same seed gives the same masks,
//! and every row of a minibatch, every step and every pass draws its own. Each kept component's
//! Jacobian entry is `1/(1 − p)`, a dropped one's 0: bprop passes `dx = m dy`, bbprop
//! `ddx = m² ddy`. As everywhere, the functions without `_acc` overwrite `dx`/`ddx` and the
//! `_acc` ones add into it; a minibatch is the same call on the whole row-major slice (row `r`'s
//! component `i` is component `r·width + i`).

/// Whether a network is training (dropout draws masks) or evaluating (dropout is the identity),
/// and where its masks come from. Generated networks keep one; `set_training` and
/// `seed_dropout` set it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// Training (the default) or evaluation.
    pub training: bool,
    /// The network's seed.
    pub seed: u64,
    /// The number of the last forward pass made in training: each draws new masks.
    pub pass: u64,
}

impl Mode {
    /// Training, seed 0, no pass yet.
    pub const fn new() -> Self {
        Mode {
            training: true,
            seed: 0,
            pass: 0,
        }
    }

    /// A forward pass begins: in training, with masks of its own.
    #[inline]
    pub fn next_pass(&mut self) {
        if self.training {
            self.pass = self.pass.wrapping_add(1);
        }
    }
}

impl Default for Mode {
    fn default() -> Self {
        Mode::new()
    }
}

/// The seed of module `module`'s copy `copy` (of a user module or a nested network: per step, per
/// row of a minibatch) in a network seeded with `seed`, for `Module::set_seed`.
#[doc(hidden)]
pub fn child_seed(seed: u64, module: u64, copy: u64) -> u64 {
    mix(mix(seed ^ mix(module.wrapping_add(0x5bd1_e995))) ^ copy)
}

/// A seed from a network's initial parameters, for a network that has no dropout of its own but
/// user modules or nested networks (which may): they get seeds that follow the `rng` the
/// parameters were drawn from, without drawing from it (what it gives next is unchanged).
#[doc(hidden)]
pub fn seed_of<F: crate::Float>(params: &[F]) -> u64 {
    params
        .iter()
        .fold(0x6a09_e667_f3bc_c908, |h, p| mix(h ^ p.to_f64().to_bits()))
}

/// SplitMix64's finaliser: a bijection of `u64` whose outputs pass statistical tests for
/// consecutive inputs.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where one dropout module's mask comes from in one pass at one step: the mask of component
/// `j` is a hash of this key and `j`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    training: bool,
    base: u64,
}

impl Key {
    /// Module `module`'s key at step `step` of `mode`'s current pass.
    #[inline]
    pub fn new(mode: Mode, module: u64, step: u64) -> Key {
        Key {
            training: mode.training,
            base: mix(mix(mix(mode.seed) ^ mode.pass) ^ mix(module << 32 ^ step)),
        }
    }

    /// Whether component `j` is kept, with probability `1 − p`.
    #[inline(always)]
    fn keeps(self, j: usize, p: f64) -> bool {
        let u = (mix(self.base ^ (j as u64)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        u >= p
    }
}

macro_rules! dropout_kernels {
    ($t:ident) => {
        #[doc = concat!("Dropout kernels for `", stringify!($t), "`.")]
        pub mod $t {
            use super::Key;

            /// Component `j`'s factor: `1/(1 − p)` if kept, 0 if dropped, 1 in evaluation.
            #[inline(always)]
            fn factor(key: Key, j: usize, p: $t) -> $t {
                if !key.training {
                    1.0
                } else if key.keeps(j, p as f64) {
                    1.0 / (1.0 - p)
                } else {
                    0.0
                }
            }

            /// fprop: `y = m ∘ x`, `m` the mask of `key` scaled by `1/(1 − p)` (training), or
            /// `y = x` (evaluation).
            ///
            /// # Panics
            /// If `x` and `y` differ in length.
            #[inline]
            pub fn fprop(x: &[$t], y: &mut [$t], p: $t, key: Key) {
                assert_eq!(x.len(), y.len(), "dropout: widths differ");
                for (j, (yi, xi)) in y.iter_mut().zip(x).enumerate() {
                    *yi = factor(key, j, p) * xi;
                }
            }

            /// `dx (+)= m^power ∘ g`.
            #[inline(always)]
            fn impl_(g: &[$t], dx: &mut [$t], p: $t, key: Key, square: bool, accumulate: bool) {
                assert_eq!(g.len(), dx.len(), "dropout: widths differ");
                for (j, (d, gi)) in dx.iter_mut().zip(g).enumerate() {
                    let m = factor(key, j, p);
                    let v = if square { m * m * gi } else { m * gi };
                    if accumulate {
                        *d += v;
                    } else {
                        *d = v;
                    }
                }
            }

            /// bprop: `dx = m ∘ dy` (overwritten), the mask of the fprop with the same key.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop(dy: &[$t], dx: &mut [$t], p: $t, key: Key) {
                impl_(dy, dx, p, key, false, false)
            }

            /// As [`bprop`], but `dx += m ∘ dy`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_acc(dy: &[$t], dx: &mut [$t], p: $t, key: Key) {
                impl_(dy, dx, p, key, false, true)
            }

            /// bbprop: `ddx = m² ∘ ddy` (overwritten).
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop(ddy: &[$t], ddx: &mut [$t], p: $t, key: Key) {
                impl_(ddy, ddx, p, key, true, false)
            }

            /// As [`bbprop`], but `ddx += m² ∘ ddy`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_acc(ddy: &[$t], ddx: &mut [$t], p: $t, key: Key) {
                impl_(ddy, ddx, p, key, true, true)
            }
        }
    };
}

dropout_kernels!(f32);
dropout_kernels!(f64);

#[cfg(test)]
mod tests {
    use super::{Key, Mode};
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err};

    const X: [f64; 6] = [0.5, -1.7, 2.2, -0.03, 3.0, 0.0];
    const START: [f64; 6] = [1.0, -2.0, 3.0, 0.5, -0.5, 0.25];

    fn key(pass: u64) -> Key {
        let mode = Mode {
            training: true,
            seed: 7,
            pass,
        };
        Key::new(mode, 3, 0)
    }

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): with the mask
    /// fixed by its key the function is linear, so central differences have only rounding
    /// error, about 1e-10 at step 1e-5. A dropped component given a gradient, or `m` in place of
    /// `m²`, is off by far more.
    const TOL: f64 = 1e-8;

    #[test]
    fn bprop_and_bbprop_match_finite_differences() {
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75];
        let ddy = positive(6, 71);
        for (p, pass) in [(0.5, 1), (0.2, 2), (0.0, 3), (0.9, 4)] {
            let k = key(pass);
            let mut y = [0.0; 6];
            super::f64::fprop(&X, &mut y, p, k);
            let nd = numeric_grad(&X, |x| {
                let mut y = [0.0; 6];
                super::f64::fprop(x, &mut y, p, k);
                y.iter().zip(&dy).map(|(a, b)| a * b).sum()
            });
            let mut dx = [9.0; 6];
            super::f64::bprop(&dy, &mut dx, p, k);
            assert!(rel_err(&dx, &nd) < TOL, "{p}: {dx:?} vs {nd:?}");
            let mut acc = START;
            super::f64::bprop_acc(&dy, &mut acc, p, k);
            let want: Vec<f64> = nd.iter().zip(&START).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{p}: {acc:?} vs {want:?}");

            let ndd = gauss_newton_diag(&X, &ddy, |x, y| super::f64::fprop(x, y, p, k));
            let mut ddx = [9.0; 6];
            super::f64::bbprop(&ddy, &mut ddx, p, k);
            assert!(rel_err(&ddx, &ndd) < TOL, "{p}: {ddx:?} vs {ndd:?}");
            let mut acc = START;
            super::f64::bbprop_acc(&ddy, &mut acc, p, k);
            let want: Vec<f64> = ndd.iter().zip(&START).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{p}: {acc:?} vs {want:?}");
        }
    }

    /// Inverted scaling: about a fraction `p` of the components is dropped, the rest scaled by
    /// `1/(1 − p)`, so the mean is kept. Over 100 000 components the dropped fraction's standard
    /// deviation is `√(p(1 − p)/n) ≈ 0.0016` at p = 0.5: 0.01 is six of them.
    #[test]
    fn a_fraction_p_is_dropped_and_the_mean_kept() {
        let n = 100_000;
        let x = vec![1.0f64; n];
        for p in [0.1, 0.5, 0.8] {
            let mut y = vec![0.0; n];
            super::f64::fprop(&x, &mut y, p, key(9));
            let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
            assert!((dropped - p).abs() < 0.01, "{p}: {dropped}");
            let kept = 1.0 / (1.0 - p);
            assert!(y.iter().all(|&v| v == 0.0 || v == kept));
            let mean = y.iter().sum::<f64>() / n as f64;
            assert!((mean - 1.0).abs() < 0.05, "{p}: {mean}");
        }
    }

    /// Another pass, seed, module or step draws another mask; the same key the same one; in
    /// evaluation the module is the identity.
    #[test]
    fn masks_follow_the_key() {
        let x = [1.0f64; 64];
        let mask = |k: Key| {
            let mut y = [0.0; 64];
            super::f64::fprop(&x, &mut y, 0.5, k);
            y
        };
        let mode = Mode {
            training: true,
            seed: 7,
            pass: 1,
        };
        let base = mask(Key::new(mode, 3, 0));
        assert_eq!(base, mask(Key::new(mode, 3, 0)));
        for other in [
            Key::new(Mode { pass: 2, ..mode }, 3, 0),
            Key::new(Mode { seed: 8, ..mode }, 3, 0),
            Key::new(mode, 4, 0),
            Key::new(mode, 3, 1),
        ] {
            assert_ne!(base, mask(other));
        }
        let eval = Key::new(
            Mode {
                training: false,
                ..mode
            },
            3,
            0,
        );
        assert_eq!(mask(eval), x);
        let mut dx = [0.0; 64];
        super::f64::bprop(&x, &mut dx, 0.5, eval);
        assert_eq!(dx, x);
        let mut m = mode;
        m.next_pass();
        assert_eq!(m.pass, 2);
        m.training = false;
        m.next_pass();
        assert_eq!(m.pass, 2);
    }

    /// `f32` draws the same mask as `f64`.
    #[test]
    fn f32_drops_what_f64_drops() {
        let x = [1.0f64; 32];
        let (mut y, mut y32) = ([0.0; 32], [0.0f32; 32]);
        super::f64::fprop(&x, &mut y, 0.5, key(5));
        super::f32::fprop(&[1.0f32; 32], &mut y32, 0.5, key(5));
        for (a, b) in y.iter().zip(&y32) {
            assert_eq!(*a == 0.0, *b == 0.0);
        }
    }
}
