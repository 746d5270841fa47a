//! The hand-written references: what a performance-minded engineer writes for one fixed network.
//!
//! Every width is a compile-time constant: `[f32; N]` arrays, loops with known trip counts, a dot
//! product over `&[f32; N]`, gradients in local arrays, no allocation and no bounds check in a
//! step, so the compiler unrolls and vectorises every loop. Each `step` is one training step of
//! the lecture's cycle, the same math as the generated network's `fprop; zero_grad; bprop;
//! sgd_step`: the forward pass, every parameter gradient, then `w −= lr · dw`, fused into one
//! function per network. A layer computes all its pre-activations, then all its tanh, in a loop
//! of its own: with libm the calls to `tanhf` are then independent of each other and overlap, and
//! the rational tanh vectorises.
//!
//! The networks are generic over their widths (`Mlp2<2, 8, 1>` is the XOR net) and over a
//! [`Flavor`], the two ways of writing the arithmetic:
//! - [`FixedSize`], the careful version the ratios are taken against: a dot product kept in 8
//!   partial sums (which the compiler turns into vector registers; a single running sum fixes the
//!   order of the additions and stays scalar) and the runtime's rational tanh
//!   (`bpnet::kernels::approx::tanh`, degree 13/6, within 3.6e-7 of the exact value), so the math
//!   is the generated network's and the two agree to the last bit when the generated kernels add
//!   in the same order;
//! - [`Libm`], the straightforward code an engineer writes first: a single running sum and
//!   `f32::tanh` (libm's `tanhf`). Its trajectory differs by rounding (about 1e-6 at the end), and
//!   the harness compares it with a tolerance of its own.
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

/// How a reference does its arithmetic: its tanh and its dot product.
pub trait Flavor {
    /// tanh of `x`.
    fn tanh(x: f32) -> f32;
    /// `Σ_j a_j b_j`.
    fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32;
}

/// The careful hand-written arithmetic: 8 partial sums and the runtime's rational tanh.
pub struct FixedSize;

impl Flavor for FixedSize {
    #[inline(always)]
    fn tanh(x: f32) -> f32 {
        bpnet::kernels::approx::tanh(x)
    }

    /// Term `j` goes to partial sum `j mod 8` (the terms after the last multiple of 8 to the first
    /// sums), then the partial sums are added pairwise: `s_l + s_{l+4}`, then `+ _{l+2}`, then the
    /// last two.
    #[inline(always)]
    fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
        let mut s = [0.0f32; 8];
        let (ac, at) = a.as_chunks::<8>();
        let (bc, bt) = b.as_chunks::<8>();
        for (x, y) in ac.iter().zip(bc) {
            for l in 0..8 {
                s[l] += x[l] * y[l];
            }
        }
        for (l, (x, y)) in at.iter().zip(bt).enumerate() {
            s[l] += x * y;
        }
        let q = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
        (q[0] + q[2]) + (q[1] + q[3])
    }
}

/// The straightforward arithmetic: one running sum and libm's `tanhf`.
pub struct Libm;

impl Flavor for Libm {
    #[inline(always)]
    fn tanh(x: f32) -> f32 {
        x.tanh()
    }

    #[inline(always)]
    fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
        let mut s = 0.0f32;
        for j in 0..N {
            s += a[j] * b[j];
        }
        s
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

/// A tanh layer `h = tanh(W x + b)`, `W: O × I`, and its gradients.
#[derive(Clone)]
struct Layer<const I: usize, const O: usize> {
    w: [[f32; I]; O],
    b: [f32; O],
}

impl<const I: usize, const O: usize> Layer<I, O> {
    /// The layer's `W`, then `b`, from the pool.
    fn take(pool: &[f32], at: &mut usize) -> Self {
        Self {
            w: take_matrix(pool, at),
            b: take(pool, at),
        }
    }

    /// Appends `W`, then `b`, to a pool.
    fn extend(&self, pool: &mut Vec<f32>) {
        pool.extend(self.w.iter().flatten());
        pool.extend(self.b);
    }

    /// `tanh(W x + b)`: every pre-activation, then every tanh.
    #[inline(always)]
    fn forward<F: Flavor>(&self, x: &[f32; I]) -> [f32; O] {
        let mut h = [0.0f32; O];
        for i in 0..O {
            h[i] = F::dot(&self.w[i], x) + self.b[i];
        }
        for v in &mut h {
            *v = F::tanh(*v);
        }
        h
    }

    /// From `dy` = dE/dh and the layer's output `h`: `g = dy ∘ (1 − h²)`; returns `g`.
    #[inline(always)]
    fn slope(h: &[f32; O], dy: &[f32; O]) -> [f32; O] {
        std::array::from_fn(|i| dy[i] * (1.0 - h[i] * h[i]))
    }

    /// dE/dx = `Wᵀ g`, in the order of the runtime's kernel (row by row).
    #[inline(always)]
    fn back(&self, g: &[f32; O]) -> [f32; I] {
        let mut dx = [0.0f32; I];
        for i in 0..O {
            for j in 0..I {
                dx[j] += self.w[i][j] * g[i];
            }
        }
        dx
    }

    /// The update from this sample's gradients, fused: `W −= lr · g xᵀ`, `b −= lr · g`.
    #[inline(always)]
    fn update(&mut self, x: &[f32; I], g: &[f32; O], lr: f32) {
        for i in 0..O {
            for j in 0..I {
                self.w[i][j] -= lr * (g[i] * x[j]);
            }
            self.b[i] -= lr * g[i];
        }
    }
}

/// `½‖out − y‖²` and its gradient with respect to `out` before the tanh (`(out − y) ∘ (1 − out²)`).
#[inline(always)]
fn euclidean_tanh<const O: usize>(out: &[f32; O], y: &[f32; O]) -> (f32, [f32; O]) {
    let mut sq = 0.0f32;
    for k in 0..O {
        let d = out[k] - y[k];
        sq += d * d;
    }
    let g = std::array::from_fn(|k| (out[k] - y[k]) * (1.0 - out[k] * out[k]));
    (0.5 * sq, g)
}

/// A two-layer tanh net `tanh(W2 tanh(W1 x + b1) + b2)`, Euclidean energy, one sample per step.
pub struct Mlp2<F, const I: usize, const H: usize, const O: usize> {
    l1: Layer<I, H>,
    l2: Layer<H, O>,
    /// The arithmetic (a type, no data).
    flavor: PhantomData<F>,
}

impl<F: Flavor, const I: usize, const H: usize, const O: usize> Mlp2<F, I, H, O> {
    /// From a pool laid out as the generated net's: `W1 (H × I), b1, W2 (O × H), b2`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            l1: Layer::take(p, at),
            l2: Layer::take(p, at),
            flavor: PhantomData,
        };
        assert_eq!(*at, p.len(), "mlp2: pool layout");
        net
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p = Vec::new();
        self.l1.extend(&mut p);
        self.l2.extend(&mut p);
        p
    }

    /// One training step on `(x, y)`; returns the energy before the update.
    #[inline]
    pub fn step(&mut self, x: &[f32; I], y: &[f32; O], lr: f32) -> f32 {
        let h = self.l1.forward::<F>(x);
        let out = self.l2.forward::<F>(&h);
        let (energy, g2) = euclidean_tanh(&out, y);
        let g1 = Layer::<I, H>::slope(&h, &self.l2.back(&g2));
        self.l1.update(x, &g1, lr);
        self.l2.update(&h, &g2, lr);
        energy
    }
}

/// A three-layer tanh net, Euclidean energy, one sample per step.
pub struct Mlp3<F, const I: usize, const H1: usize, const H2: usize, const O: usize> {
    l1: Layer<I, H1>,
    l2: Layer<H1, H2>,
    l3: Layer<H2, O>,
    /// The arithmetic (a type, no data).
    flavor: PhantomData<F>,
}

impl<F: Flavor, const I: usize, const H1: usize, const H2: usize, const O: usize>
    Mlp3<F, I, H1, H2, O>
{
    /// From a pool laid out as the generated net's: `W1, b1, W2, b2, W3, b3`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            l1: Layer::take(p, at),
            l2: Layer::take(p, at),
            l3: Layer::take(p, at),
            flavor: PhantomData,
        };
        assert_eq!(*at, p.len(), "mlp3: pool layout");
        net
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p = Vec::new();
        self.l1.extend(&mut p);
        self.l2.extend(&mut p);
        self.l3.extend(&mut p);
        p
    }

    /// One training step on `(x, y)`; returns the energy before the update.
    #[inline]
    pub fn step(&mut self, x: &[f32; I], y: &[f32; O], lr: f32) -> f32 {
        let h1 = self.l1.forward::<F>(x);
        let h2 = self.l2.forward::<F>(&h1);
        let out = self.l3.forward::<F>(&h2);
        let (energy, g3) = euclidean_tanh(&out, y);
        let g2 = Layer::<H1, H2>::slope(&h2, &self.l3.back(&g3));
        let g1 = Layer::<I, H1>::slope(&h1, &self.l2.back(&g2));
        self.l1.update(x, &g1, lr);
        self.l2.update(&h1, &g2, lr);
        self.l3.update(&h2, &g3, lr);
        energy
    }
}

/// The Elman net: `h_t = tanh(Wx x_t + Wh h_{t−1} + b)`, `o_t = Wo h_t`, energy `Σ_t ½(o_t − y_t)²`,
/// `h_{−1} = 0`; one sequence of `T` steps per training step, full back-propagation through time.
pub struct Elman<F, const I: usize, const H: usize, const T: usize> {
    wx: [[f32; I]; H],
    wh: [[f32; H]; H],
    b: [f32; H],
    wo: [f32; H],
    /// The arithmetic (a type, no data).
    flavor: PhantomData<F>,
}

impl<F: Flavor, const I: usize, const H: usize, const T: usize> Elman<F, I, H, T> {
    /// From a pool laid out as the generated net's: `Wx (H × I), Wh (H × H), b, Wo (1 × H)`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            wx: take_matrix(p, at),
            wh: take_matrix(p, at),
            b: take(p, at),
            wo: take(p, at),
            flavor: PhantomData,
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
    pub fn step(&mut self, xs: &[[f32; I]; T], ys: &[[f32; 1]; T], lr: f32) -> f32 {
        // Forward: hs[t + 1] is h at step t, hs[0] the zero initial state.
        let mut hs = [[0.0f32; H]; T];
        let zero = [0.0f32; H];
        let mut os = [0.0f32; T];
        let mut energy = 0.0f32;
        for t in 0..T {
            let (prev, next) = hs.split_at_mut(t);
            let (hp, hn) = (prev.last().unwrap_or(&zero), &mut next[0]);
            for i in 0..H {
                let s = F::dot(&self.wx[i], &xs[t]);
                let c = F::dot(&self.wh[i], hp);
                hn[i] = (s + c) + self.b[i];
            }
            for v in hn.iter_mut() {
                *v = F::tanh(*v);
            }
            let o = F::dot(&self.wo, hn);
            os[t] = o;
            let d = o - ys[t][0];
            energy += 0.5 * (d * d);
        }

        // Backward through time, gathering every gradient over the steps.
        let mut gwx = [[0.0f32; I]; H];
        let mut gwh = [[0.0f32; H]; H];
        let mut gb = [0.0f32; H];
        let mut gwo = [0.0f32; H];
        // dE/dh_t through h_{t+1} (zero after the last step).
        let mut dh_next = [0.0f32; H];
        for t in (0..T).rev() {
            let h = &hs[t];
            let hp = if t > 0 { &hs[t - 1] } else { &zero };
            let go = os[t] - ys[t][0];
            let mut ga = [0.0f32; H];
            for i in 0..H {
                gwo[i] += go * h[i];
                let dh = dh_next[i] + self.wo[i] * go;
                ga[i] = dh * (1.0 - h[i] * h[i]);
                gb[i] += ga[i];
            }
            for i in 0..H {
                for j in 0..H {
                    gwh[i][j] += ga[i] * hp[j];
                }
                for j in 0..I {
                    gwx[i][j] += ga[i] * xs[t][j];
                }
            }
            if t > 0 {
                dh_next = [0.0; H];
                for i in 0..H {
                    for j in 0..H {
                        dh_next[j] += self.wh[i][j] * ga[i];
                    }
                }
            }
        }

        // Update.
        for i in 0..H {
            for j in 0..I {
                self.wx[i][j] -= lr * gwx[i][j];
            }
            for j in 0..H {
                self.wh[i][j] -= lr * gwh[i][j];
            }
            self.b[i] -= lr * gb[i];
            self.wo[i] -= lr * gwo[i];
        }
        energy
    }
}

/// Inputs of the minibatch nets (28×28 images).
pub const IN: usize = 784;
/// Outputs of the minibatch nets.
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

/// A tanh net of any widths (`widths[0]` inputs, then each layer's outputs) trained on
/// minibatches of `batch` samples: the straightforward version that calls
/// `matrixmultiply::sgemm` on buffers allocated once. Rows are samples, so a layer is
/// `S = H·Wᵀ` (`W` row-major `out × in`, read transposed through its strides), then the bias and
/// the tanh in a loop; the gradients are the sums over the batch (as the generated
/// `bprop_batch` gives them): `dW = Gᵀ·H`, `dH = G·W`, `db` the column sums of `G`.
///
/// The matrix products add in matrixmultiply's order, which need not be the runtime's: the two
/// could drift apart in the last bits (the harness allows a relative 1e-5).
pub struct Minibatch<F: Flavor> {
    widths: Vec<usize>,
    /// Per layer: `W` (`out × in`), then `b`.
    w: Vec<Vec<f32>>,
    b: Vec<Vec<f32>>,
    gw: Vec<Vec<f32>>,
    gb: Vec<Vec<f32>>,
    /// Samples per batch.
    batch: usize,
    /// Per layer, `batch × out`: its output (pre-activations, then tanh).
    h: Vec<Vec<f32>>,
    /// Per layer, `batch × out`: dE/d(its output), then dE/d(its pre-activation).
    g: Vec<Vec<f32>>,
    /// The arithmetic (a type, no data).
    flavor: PhantomData<F>,
}

impl<F: Flavor> Minibatch<F> {
    /// From a pool laid out as the generated net's (`W1, b1, W2, b2, …`), for a net of `widths`
    /// and batches of `batch` samples.
    pub fn from_pool(p: &[f32], widths: &[usize], batch: usize) -> Self {
        let layers = widths.len() - 1;
        let (mut w, mut b, mut at) = (Vec::new(), Vec::new(), 0);
        for l in 0..layers {
            let (i, o) = (widths[l], widths[l + 1]);
            w.push(p[at..at + i * o].to_vec());
            at += i * o;
            b.push(p[at..at + o].to_vec());
            at += o;
        }
        assert_eq!(at, p.len(), "minibatch: pool layout");
        let per_layer = |n: &dyn Fn(usize) -> usize| -> Vec<Vec<f32>> {
            (0..layers).map(|l| vec![0.0; n(l)]).collect()
        };
        Self {
            widths: widths.to_vec(),
            gw: per_layer(&|l| widths[l] * widths[l + 1]),
            gb: per_layer(&|l| widths[l + 1]),
            h: per_layer(&|l| batch * widths[l + 1]),
            g: per_layer(&|l| batch * widths[l + 1]),
            w,
            b,
            batch,
            flavor: PhantomData,
        }
    }

    /// Samples per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The layer widths.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p = Vec::new();
        for (w, b) in self.w.iter().zip(&self.b) {
            p.extend(w);
            p.extend(b);
        }
        p
    }

    /// One training step on a batch of `batch` samples; returns the batch's energy (the sum of
    /// the samples') before the update.
    pub fn step(&mut self, xs: &[[f32; IN]], ys: &[[f32; OUT]], lr: f32) -> f32 {
        let (batch, layers) = (self.batch, self.w.len());
        assert!(
            xs.len() == batch && ys.len() == batch,
            "minibatch: {batch} samples"
        );
        let x = xs.as_flattened();

        // Forward: H_l = tanh(H_{l−1}·W_lᵀ + b_l).
        for l in 0..layers {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let (done, rest) = self.h.split_at_mut(l);
            let input: &[f32] = if l == 0 { x } else { &done[l - 1] };
            let out = &mut rest[0];
            matmul((batch, i, o), (input, i, 1), (&self.w[l], 1, i), out);
            for row in out.chunks_exact_mut(o) {
                for (v, b) in row.iter_mut().zip(&self.b[l]) {
                    *v = F::tanh(*v + b);
                }
            }
        }

        // Energy Σ_r ½‖o_r − y_r‖², and G_L = (O − Y) ∘ (1 − O²).
        let mut energy = 0.0f32;
        let last = layers - 1;
        for ((o, y), g) in self.h[last]
            .chunks_exact(OUT)
            .zip(ys)
            .zip(self.g[last].chunks_exact_mut(OUT))
        {
            let mut sq = 0.0f32;
            for k in 0..OUT {
                let d = o[k] - y[k];
                sq += d * d;
                g[k] = d * (1.0 - o[k] * o[k]);
            }
            energy += 0.5 * sq;
        }

        // Backward: db_l = Σ_r G_l, dW_l = G_lᵀ·H_{l−1}, then G_{l−1} = (G_l·W_l) ∘ (1 − H_{l−1}²).
        for l in (0..layers).rev() {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            self.gb[l].fill(0.0);
            for g in self.g[l].chunks_exact(o) {
                for (db, gi) in self.gb[l].iter_mut().zip(g) {
                    *db += gi;
                }
            }
            let input: &[f32] = if l == 0 { x } else { &self.h[l - 1] };
            matmul(
                (o, batch, i),
                (&self.g[l], 1, o),
                (input, i, 1),
                &mut self.gw[l],
            );
            if l > 0 {
                let (below, here) = self.g.split_at_mut(l);
                let dh = &mut below[l - 1];
                matmul((batch, o, i), (&here[0], o, 1), (&self.w[l], i, 1), dh);
                for (gi, hi) in dh.iter_mut().zip(&self.h[l - 1]) {
                    *gi *= 1.0 - hi * hi;
                }
            }
        }

        // Update.
        for l in 0..layers {
            for (w, g) in [(&mut self.w[l], &self.gw[l]), (&mut self.b[l], &self.gb[l])] {
                for (wi, gi) in w.iter_mut().zip(g) {
                    *wi -= lr * gi;
                }
            }
        }
        energy
    }
}
