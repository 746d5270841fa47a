//! The hand-written references: what a performance-minded engineer writes for one fixed network.
//!
//! Fixed-size arrays, plain loops, no allocation in a step, gradients in local arrays. Each
//! `step` is one training step of the lecture's cycle, the same math as the generated network's
//! `fprop; zero_grad; bprop; sgd_step`: the forward pass, every parameter gradient, then
//! `w −= lr · dw`. The loops add in the same order as the runtime's kernels (a dot product from
//! the first term to the last, then the bias inside the tanh), so the two usually agree to the
//! last bit. A layer computes all its pre-activations, then all its tanh: the calls to `tanhf` are
//! then independent of each other and overlap (one `tanh` right after each dot product was
//! measurably slower).
//!
//! What the references leave out, because nothing reads it: the derivative of the energy with
//! respect to the target, the states' `dx` kept for inspection, and (at the first step of a
//! sequence) the derivative with respect to the zero initial hidden state. With `DX = false`
//! they also skip the input gradient of the first layer, as an engineer would; with `DX = true`
//! they compute it, which is the work the generated `bprop` does (it fills `x.dx`).
//!
//! Parameters come from the generated network's pool (same layout, same initial values) and go
//! back to a pool for the comparison of final parameters.

// Indexed loops on purpose: this is the plain code the generated code is measured against.
#![allow(clippy::needless_range_loop)]

/// The tanh of both sides: the runtime's kernels call `f32::tanh` (libm), so do the references.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    x.tanh()
}

/// Copies `N` values of `pool` from `*at` on, and moves `*at` past them.
fn take<const N: usize>(pool: &[f32], at: &mut usize) -> [f32; N] {
    let v: [f32; N] = pool[*at..*at + N].try_into().expect("pool too short");
    *at += N;
    v
}

/// `R × C` row-major values of `pool` from `*at` on.
fn take_matrix<const R: usize, const C: usize>(pool: &[f32], at: &mut usize) -> [[f32; C]; R] {
    std::array::from_fn(|_| take::<C>(pool, at))
}

/// The 2-8-1 tanh net (`tanh(W2 tanh(W1 x + b1) + b2)`, Euclidean energy), one sample per step.
pub struct Xor<const DX: bool> {
    w1: [[f32; 2]; 8],
    b1: [f32; 8],
    w2: [f32; 8],
    b2: f32,
    /// dE/dx of the input (computed only when `DX`).
    pub dx: [f32; 2],
}

impl<const DX: bool> Xor<DX> {
    /// From a pool laid out as the generated net's: `W1 (8 × 2), b1, W2 (1 × 8), b2`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            w1: take_matrix(p, at),
            b1: take(p, at),
            w2: take(p, at),
            b2: take::<1>(p, at)[0],
            dx: [0.0; 2],
        };
        assert_eq!(*at, p.len(), "xor: pool layout");
        net
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p: Vec<f32> = self.w1.iter().flatten().copied().collect();
        p.extend(self.b1);
        p.extend(self.w2);
        p.push(self.b2);
        p
    }

    /// One training step on `(x, y)`; returns the energy before the update.
    #[inline]
    pub fn step(&mut self, x: &[f32; 2], y: &[f32; 1], lr: f32) -> f32 {
        // Forward.
        let mut h = [0.0f32; 8];
        for i in 0..8 {
            let mut s = 0.0f32;
            for j in 0..2 {
                s += self.w1[i][j] * x[j];
            }
            h[i] = s + self.b1[i];
        }
        for v in &mut h {
            *v = tanh(*v);
        }
        let mut s2 = 0.0f32;
        for i in 0..8 {
            s2 += self.w2[i] * h[i];
        }
        let out = tanh(s2 + self.b2);
        let diff = out - y[0];
        let energy = 0.5 * (diff * diff);

        // Backward: every gradient.
        let g2 = diff * (1.0 - out * out);
        let gb2 = g2;
        let mut gw2 = [0.0f32; 8];
        let mut g1 = [0.0f32; 8];
        for i in 0..8 {
            gw2[i] = g2 * h[i];
            g1[i] = (self.w2[i] * g2) * (1.0 - h[i] * h[i]);
        }
        let mut gw1 = [[0.0f32; 2]; 8];
        for i in 0..8 {
            for j in 0..2 {
                gw1[i][j] = g1[i] * x[j];
            }
        }
        if DX {
            let mut dx = [0.0f32; 2];
            for i in 0..8 {
                for j in 0..2 {
                    dx[j] += self.w1[i][j] * g1[i];
                }
            }
            self.dx = dx;
        }

        // Update.
        for i in 0..8 {
            for j in 0..2 {
                self.w1[i][j] -= lr * gw1[i][j];
            }
            self.b1[i] -= lr * g1[i];
            self.w2[i] -= lr * gw2[i];
        }
        self.b2 -= lr * gb2;
        energy
    }
}

/// The 64-32-10 tanh net on 8×8 images, one sample per step.
pub struct Digits<const DX: bool> {
    w1: [[f32; 64]; 32],
    b1: [f32; 32],
    w2: [[f32; 32]; 10],
    b2: [f32; 10],
    /// dE/dx of the input (computed only when `DX`).
    pub dx: [f32; 64],
}

impl<const DX: bool> Digits<DX> {
    /// From a pool laid out as the generated net's: `W1 (32 × 64), b1, W2 (10 × 32), b2`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            w1: take_matrix(p, at),
            b1: take(p, at),
            w2: take_matrix(p, at),
            b2: take(p, at),
            dx: [0.0; 64],
        };
        assert_eq!(*at, p.len(), "digits: pool layout");
        net
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p: Vec<f32> = self.w1.iter().flatten().copied().collect();
        p.extend(self.b1);
        p.extend(self.w2.iter().flatten());
        p.extend(self.b2);
        p
    }

    /// One training step on `(x, y)`; returns the energy before the update.
    #[inline]
    pub fn step(&mut self, x: &[f32; 64], y: &[f32; 10], lr: f32) -> f32 {
        // Forward.
        let mut h = [0.0f32; 32];
        for i in 0..32 {
            let mut s = 0.0f32;
            for j in 0..64 {
                s += self.w1[i][j] * x[j];
            }
            h[i] = s + self.b1[i];
        }
        for v in &mut h {
            *v = tanh(*v);
        }
        let mut out = [0.0f32; 10];
        for k in 0..10 {
            let mut s = 0.0f32;
            for i in 0..32 {
                s += self.w2[k][i] * h[i];
            }
            out[k] = s + self.b2[k];
        }
        for v in &mut out {
            *v = tanh(*v);
        }
        let mut sq = 0.0f32;
        for k in 0..10 {
            let d = out[k] - y[k];
            sq += d * d;
        }
        let energy = 0.5 * sq;

        // Backward: every gradient.
        let mut g2 = [0.0f32; 10];
        for k in 0..10 {
            g2[k] = (out[k] - y[k]) * (1.0 - out[k] * out[k]);
        }
        let mut gw2 = [[0.0f32; 32]; 10];
        let mut dh = [0.0f32; 32];
        for k in 0..10 {
            for i in 0..32 {
                gw2[k][i] = g2[k] * h[i];
                dh[i] += self.w2[k][i] * g2[k];
            }
        }
        let mut g1 = [0.0f32; 32];
        for i in 0..32 {
            g1[i] = dh[i] * (1.0 - h[i] * h[i]);
        }
        let mut gw1 = [[0.0f32; 64]; 32];
        for i in 0..32 {
            for j in 0..64 {
                gw1[i][j] = g1[i] * x[j];
            }
        }
        if DX {
            let mut dx = [0.0f32; 64];
            for i in 0..32 {
                for j in 0..64 {
                    dx[j] += self.w1[i][j] * g1[i];
                }
            }
            self.dx = dx;
        }

        // Update.
        for i in 0..32 {
            for j in 0..64 {
                self.w1[i][j] -= lr * gw1[i][j];
            }
            self.b1[i] -= lr * g1[i];
        }
        for k in 0..10 {
            for i in 0..32 {
                self.w2[k][i] -= lr * gw2[k][i];
            }
            self.b2[k] -= lr * g2[k];
        }
        energy
    }
}

/// Steps of the Elman sequences.
pub const T: usize = 16;

/// The Elman net: `h_t = tanh(Wx x_t + Wh h_{t−1} + b)`, `o_t = Wo h_t`, energy `Σ_t ½(o_t − y_t)²`,
/// `h_{−1} = 0`; one sequence of `T` steps per training step, full back-propagation through time.
pub struct Elman<const DX: bool> {
    wx: [[f32; 4]; 32],
    wh: [[f32; 32]; 32],
    b: [f32; 32],
    wo: [f32; 32],
    /// dE/dx of the input at every step (computed only when `DX`).
    pub dx: [[f32; 4]; T],
}

impl<const DX: bool> Elman<DX> {
    /// From a pool laid out as the generated net's: `Wx (32 × 4), Wh (32 × 32), b, Wo (1 × 32)`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            wx: take_matrix(p, at),
            wh: take_matrix(p, at),
            b: take(p, at),
            wo: take(p, at),
            dx: [[0.0; 4]; T],
        };
        assert_eq!(*at, p.len(), "elman: pool layout");
        net
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p: Vec<f32> = self.wx.iter().flatten().copied().collect();
        p.extend(self.wh.iter().flatten());
        p.extend(self.b);
        p.extend(self.wo);
        p
    }

    /// One training step on a whole sequence; returns its energy before the update.
    #[inline]
    pub fn step(&mut self, xs: &[[f32; 4]; T], ys: &[[f32; 1]; T], lr: f32) -> f32 {
        // Forward: hs[t + 1] is h at step t, hs[0] the zero initial state.
        let mut hs = [[0.0f32; 32]; T + 1];
        let mut os = [0.0f32; T];
        let mut energy = 0.0f32;
        for t in 0..T {
            let (prev, next) = hs.split_at_mut(t + 1);
            let (hp, hn) = (&prev[t], &mut next[0]);
            for i in 0..32 {
                let mut s = 0.0f32;
                for j in 0..4 {
                    s += self.wx[i][j] * xs[t][j];
                }
                let mut c = 0.0f32;
                for j in 0..32 {
                    c += self.wh[i][j] * hp[j];
                }
                hn[i] = (s + c) + self.b[i];
            }
            for v in hn.iter_mut() {
                *v = tanh(*v);
            }
            let mut o = 0.0f32;
            for i in 0..32 {
                o += self.wo[i] * hn[i];
            }
            os[t] = o;
            let d = o - ys[t][0];
            energy += 0.5 * (d * d);
        }

        // Backward through time, gathering every gradient over the steps.
        let mut gwx = [[0.0f32; 4]; 32];
        let mut gwh = [[0.0f32; 32]; 32];
        let mut gb = [0.0f32; 32];
        let mut gwo = [0.0f32; 32];
        // dE/dh_t through h_{t+1} (zero after the last step).
        let mut dh_next = [0.0f32; 32];
        for t in (0..T).rev() {
            let (h, hp) = (&hs[t + 1], &hs[t]);
            let go = os[t] - ys[t][0];
            let mut ga = [0.0f32; 32];
            for i in 0..32 {
                gwo[i] += go * h[i];
                let dh = dh_next[i] + self.wo[i] * go;
                ga[i] = dh * (1.0 - h[i] * h[i]);
                gb[i] += ga[i];
            }
            for i in 0..32 {
                for j in 0..32 {
                    gwh[i][j] += ga[i] * hp[j];
                }
                for j in 0..4 {
                    gwx[i][j] += ga[i] * xs[t][j];
                }
            }
            if t > 0 {
                dh_next = [0.0; 32];
                for i in 0..32 {
                    for j in 0..32 {
                        dh_next[j] += self.wh[i][j] * ga[i];
                    }
                }
            }
            if DX {
                let mut dx = [0.0f32; 4];
                for i in 0..32 {
                    for j in 0..4 {
                        dx[j] += self.wx[i][j] * ga[i];
                    }
                }
                self.dx[t] = dx;
            }
        }

        // Update.
        for i in 0..32 {
            for j in 0..4 {
                self.wx[i][j] -= lr * gwx[i][j];
            }
            for j in 0..32 {
                self.wh[i][j] -= lr * gwh[i][j];
            }
            self.b[i] -= lr * gb[i];
            self.wo[i] -= lr * gwo[i];
        }
        energy
    }
}
