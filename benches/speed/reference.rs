//! The hand-written references: what a performance-minded engineer writes for one fixed network.
//!
//! Fixed-size arrays, plain loops, no allocation in a step, gradients in local arrays. Each
//! `step` is one training step of the lecture's cycle, the same math as the generated network's
//! `fprop; zero_grad; bprop; sgd_step`: the forward pass, every parameter gradient, then
//! `w −= lr · dw`. The loops add in the same order as the runtime's kernels (a dot product from
//! the first term to the last, then the bias inside the tanh). A layer computes all its
//! pre-activations, then all its tanh, in a loop of its own: with libm the calls to `tanhf` are
//! then independent of each other and overlap (one `tanh` right after each dot product was
//! measurably slower), and the rational tanh can vectorise.
//!
//! Each reference is generic over the tanh it calls ([`Tanh`]):
//! - [`SameTanh`] calls `bpnet::kernels::approx::tanh`, the function the runtime's `f32` Tanh
//!   kernel calls, so the math is the generated network's and the two usually agree to the last
//!   bit;
//! - [`LibmTanh`] calls `f32::tanh` (libm's `tanhf`), the straightforward code an engineer writes.
//!   The two functions differ by up to 3.6e-7 (see `bpnet-runtime/src/approx.rs`), so this variant
//!   trains a slightly different trajectory (about 1e-6 apart at the end), and the harness
//!   compares it with a tolerance of its own.
//!
//! What the references leave out, because nothing reads it: the derivative of the energy with
//! respect to the target, the states' `dx` kept for inspection, the derivative with respect to the
//! network's input (which the generated network skips too unless `set_input_grads(true)`), and (at
//! the first step of a sequence) the derivative with respect to the zero initial hidden state.
//!
//! The minibatch reference is the exception to fixed-size arrays and plain loops: it is the
//! straightforward version of a batched step, `matrixmultiply::sgemm` for the matrix products on
//! buffers allocated once (matrixmultiply itself allocates its packing space in every call), plain
//! loops for the rest.
//!
//! Parameters come from the generated network's pool (same layout, same initial values) and go
//! back to a pool for the comparison of final parameters.

// Indexed loops on purpose: this is the plain code the generated code is measured against.
#![allow(clippy::needless_range_loop)]

use std::marker::PhantomData;

/// The tanh a reference calls.
pub trait Tanh {
    /// tanh of `x`.
    fn tanh(x: f32) -> f32;
}

/// The runtime's tanh, `bpnet::kernels::approx::tanh` (a rational function, within 3.6e-7 of the
/// exact value): the same math as the generated network.
pub struct SameTanh;

impl Tanh for SameTanh {
    #[inline(always)]
    fn tanh(x: f32) -> f32 {
        bpnet::kernels::approx::tanh(x)
    }
}

/// libm's `tanhf` through `f32::tanh`: the straightforward reference.
pub struct LibmTanh;

impl Tanh for LibmTanh {
    #[inline(always)]
    fn tanh(x: f32) -> f32 {
        x.tanh()
    }
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
pub struct Xor<F: Tanh> {
    w1: [[f32; 2]; 8],
    b1: [f32; 8],
    w2: [f32; 8],
    b2: f32,
    /// The tanh (a type, no data).
    tanh: PhantomData<F>,
}

impl<F: Tanh> Xor<F> {
    /// From a pool laid out as the generated net's: `W1 (8 × 2), b1, W2 (1 × 8), b2`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            w1: take_matrix(p, at),
            b1: take(p, at),
            w2: take(p, at),
            b2: take::<1>(p, at)[0],
            tanh: PhantomData,
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
            *v = F::tanh(*v);
        }
        let mut s2 = 0.0f32;
        for i in 0..8 {
            s2 += self.w2[i] * h[i];
        }
        let out = F::tanh(s2 + self.b2);
        let diff = out - y[0];
        let energy = 0.5 * (diff * diff);

        // Backward: every parameter gradient.
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
pub struct Digits<F: Tanh> {
    w1: [[f32; 64]; 32],
    b1: [f32; 32],
    w2: [[f32; 32]; 10],
    b2: [f32; 10],
    /// The tanh (a type, no data).
    tanh: PhantomData<F>,
}

impl<F: Tanh> Digits<F> {
    /// From a pool laid out as the generated net's: `W1 (32 × 64), b1, W2 (10 × 32), b2`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            w1: take_matrix(p, at),
            b1: take(p, at),
            w2: take_matrix(p, at),
            b2: take(p, at),
            tanh: PhantomData,
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
            *v = F::tanh(*v);
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
            *v = F::tanh(*v);
        }
        let mut sq = 0.0f32;
        for k in 0..10 {
            let d = out[k] - y[k];
            sq += d * d;
        }
        let energy = 0.5 * sq;

        // Backward: every parameter gradient.
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
pub struct Elman<F: Tanh> {
    wx: [[f32; 4]; 32],
    wh: [[f32; 32]; 32],
    b: [f32; 32],
    wo: [f32; 32],
    /// The tanh (a type, no data).
    tanh: PhantomData<F>,
}

impl<F: Tanh> Elman<F> {
    /// From a pool laid out as the generated net's: `Wx (32 × 4), Wh (32 × 32), b, Wo (1 × 32)`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            wx: take_matrix(p, at),
            wh: take_matrix(p, at),
            b: take(p, at),
            wo: take(p, at),
            tanh: PhantomData,
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
                *v = F::tanh(*v);
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

/// Samples of a minibatch, as the issue sets the workload (a larger one is run too).
pub const BATCH: usize = 64;
/// Inputs of the minibatch net.
pub const IN: usize = 784;
/// Hidden units of the minibatch net.
pub const HID: usize = 256;
/// Outputs of the minibatch net.
pub const OUT: usize = 10;

/// A matrix operand: its values and its (row, column) strides.
type Operand<'a> = (&'a [f32], usize, usize);

/// `C = A·B` (overwritten) with `matrixmultiply::sgemm`: `A` is `m × k` and `B` is `k × n`, each
/// read through its strides, so a transpose is only a swap of strides; `C` is `m × n` row-major.
///
/// # Panics
/// If a matrix does not fit in its slice.
#[inline]
fn matmul((m, k, n): (usize, usize, usize), a: Operand, b: Operand, c: &mut [f32]) {
    let ((a, rsa, csa), (b, rsb, csb)) = (a, b);
    assert!(m > 0 && k > 0 && n > 0, "matmul: empty product");
    assert!(
        a.len() > (m - 1) * rsa + (k - 1) * csa,
        "matmul: A too short"
    );
    assert!(
        b.len() > (k - 1) * rsb + (n - 1) * csb,
        "matmul: B too short"
    );
    assert!(c.len() >= m * n, "matmul: C too short");
    let s = |v: usize| isize::try_from(v).expect("stride");
    // SAFETY: the assertions keep every element read or written inside the slices, `C`'s strides
    // `(n, 1)` do not alias, and `c` is borrowed mutably, so it overlaps neither `a` nor `b`.
    // With β = 0, `C` is only written.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            s(rsa),
            s(csa),
            b.as_ptr(),
            s(rsb),
            s(csb),
            0.0,
            c.as_mut_ptr(),
            s(n),
            1,
        );
    }
}

/// The 784-256-10 tanh net trained on minibatches of `batch` samples: the straightforward
/// version that calls `matrixmultiply::sgemm` on buffers allocated once. Rows are samples, so a
/// layer is `S = X·Wᵀ` (`W` row-major `out × in`, read transposed through its strides), then the
/// bias and the tanh in a loop; the gradients are the sums over the batch (as the generated
/// `bprop_batch` gives them): `dW = Gᵀ·X`, `dH = G2·W2`, `db` the column sums of `G`.
///
/// The matrix products add in matrixmultiply's order, which need not be the runtime's: the two
/// could drift apart in the last bits (the harness allows a relative 1e-5). Today, with
/// [`SameTanh`], they agree to the last bit.
pub struct Minibatch<F: Tanh> {
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    gw1: Vec<f32>,
    gb1: Vec<f32>,
    gw2: Vec<f32>,
    gb2: Vec<f32>,
    /// Samples per batch.
    batch: usize,
    /// Hidden layer, `batch × HID`: pre-activations, then `tanh`.
    h: Vec<f32>,
    /// Output layer, `batch × OUT`.
    out: Vec<f32>,
    /// dE/d(output pre-activation), `batch × OUT`.
    g2: Vec<f32>,
    /// dE/dh, then dE/d(hidden pre-activation), `batch × HID`.
    g1: Vec<f32>,
    /// The tanh (a type, no data).
    tanh: PhantomData<F>,
}

impl<F: Tanh> Minibatch<F> {
    /// From a pool laid out as the generated net's: `W1 (HID × IN), b1, W2 (OUT × HID), b2`, for
    /// batches of `batch` samples.
    pub fn from_pool(p: &[f32], batch: usize) -> Self {
        assert_eq!(
            p.len(),
            HID * IN + HID + OUT * HID + OUT,
            "minibatch: pool layout"
        );
        let (w1, p) = p.split_at(HID * IN);
        let (b1, p) = p.split_at(HID);
        let (w2, b2) = p.split_at(OUT * HID);
        Self {
            w1: w1.to_vec(),
            b1: b1.to_vec(),
            w2: w2.to_vec(),
            b2: b2.to_vec(),
            gw1: vec![0.0; HID * IN],
            gb1: vec![0.0; HID],
            gw2: vec![0.0; OUT * HID],
            gb2: vec![0.0; OUT],
            batch,
            h: vec![0.0; batch * HID],
            out: vec![0.0; batch * OUT],
            g2: vec![0.0; batch * OUT],
            g1: vec![0.0; batch * HID],
            tanh: PhantomData,
        }
    }

    /// Samples per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        [&self.w1, &self.b1, &self.w2, &self.b2]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }

    /// One training step on a batch of `batch` samples; returns the batch's energy (the sum of
    /// the samples') before the update.
    pub fn step(&mut self, xs: &[[f32; IN]], ys: &[[f32; OUT]], lr: f32) -> f32 {
        let batch = self.batch;
        assert!(
            xs.len() == batch && ys.len() == batch,
            "minibatch: {batch} samples"
        );
        let x = xs.as_flattened();

        // Forward: H = tanh(X·W1ᵀ + b1), O = tanh(H·W2ᵀ + b2).
        matmul((batch, IN, HID), (x, IN, 1), (&self.w1, 1, IN), &mut self.h);
        for row in self.h.chunks_exact_mut(HID) {
            for (v, b) in row.iter_mut().zip(&self.b1) {
                *v = F::tanh(*v + b);
            }
        }
        matmul(
            (batch, HID, OUT),
            (&self.h, HID, 1),
            (&self.w2, 1, HID),
            &mut self.out,
        );
        for row in self.out.chunks_exact_mut(OUT) {
            for (v, b) in row.iter_mut().zip(&self.b2) {
                *v = F::tanh(*v + b);
            }
        }

        // Energy Σ_r ½‖o_r − y_r‖², and G2 = (O − Y) ∘ (1 − O²), db2 = Σ_r G2_r.
        let mut energy = 0.0f32;
        self.gb2.fill(0.0);
        for ((o, y), g) in self
            .out
            .chunks_exact(OUT)
            .zip(ys)
            .zip(self.g2.chunks_exact_mut(OUT))
        {
            let mut sq = 0.0f32;
            for k in 0..OUT {
                let d = o[k] - y[k];
                sq += d * d;
                g[k] = d * (1.0 - o[k] * o[k]);
                self.gb2[k] += g[k];
            }
            energy += 0.5 * sq;
        }

        // Layer 2: dW2 = G2ᵀ·H, dH = G2·W2.
        matmul(
            (OUT, batch, HID),
            (&self.g2, 1, OUT),
            (&self.h, HID, 1),
            &mut self.gw2,
        );
        matmul(
            (batch, OUT, HID),
            (&self.g2, OUT, 1),
            (&self.w2, HID, 1),
            &mut self.g1,
        );

        // G1 = dH ∘ (1 − H²), db1 = Σ_r G1_r.
        self.gb1.fill(0.0);
        for (g, h) in self.g1.chunks_exact_mut(HID).zip(self.h.chunks_exact(HID)) {
            for ((gi, hi), db) in g.iter_mut().zip(h).zip(&mut self.gb1) {
                *gi *= 1.0 - hi * hi;
                *db += *gi;
            }
        }

        // Layer 1: dW1 = G1ᵀ·X (no dX: nothing reads it).
        matmul(
            (HID, batch, IN),
            (&self.g1, 1, HID),
            (x, IN, 1),
            &mut self.gw1,
        );

        // Update.
        for (w, g) in [
            (&mut self.w1, &self.gw1),
            (&mut self.b1, &self.gb1),
            (&mut self.w2, &self.gw2),
            (&mut self.b2, &self.gb2),
        ] {
            for (wi, gi) in w.iter_mut().zip(g) {
                *wi -= lr * gi;
            }
        }
        energy
    }
}
