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
//! The minibatch references are the exception to fixed-size arrays and plain loops: they are the
//! straightforward version of a batched step, `matrixmultiply::sgemm` for the matrix products on
//! buffers allocated once (matrixmultiply itself allocates its packing space in every call), plain
//! loops for the rest; LeNet-5's ([`LenetBatch`]) turns each convolution into one product for the
//! whole batch by im2col.
//!
//! LeNet-5 per sample ([`Lenet5`]) is written as the others, its maps as nested arrays
//! (`[[[f32; W]; H]; C]`); its convolutions go weight by weight over whole output rows, so the
//! loops over a row vectorise, and add each output's terms in the runtime's order. Its kernel
//! gradients do not: each weight's sum is kept in a partial sum per output column (vectorised),
//! where the runtime adds each row's sum in turn (scalar), so it agrees with the generated network
//! to rounding only.
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

    /// `W x + b`.
    #[inline(always)]
    fn affine<F: Flavor>(&self, x: &[f32; I]) -> [f32; O] {
        let mut s = [0.0f32; O];
        for i in 0..O {
            s[i] = F::dot(&self.w[i], x) + self.b[i];
        }
        s
    }

    /// `tanh(W x + b)`: every pre-activation, then every tanh.
    #[inline(always)]
    fn forward<F: Flavor>(&self, x: &[f32; I]) -> [f32; O] {
        let mut h = self.affine::<F>(x);
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

// ---------------------------------------------------------------------------------------------
// LeNet-5 on 28 × 28 inputs: C1 (6 maps, 5 × 5 kernels, padded by 2), S2, C3 (16 maps, 5 × 5,
// every input map to every output map), S4, then 400-120-84-10, tanh after every convolution,
// subsampling and hidden layer, Euclidean energy on the last layer's outputs.

/// Side of LeNet's input map.
pub const LENET_SIDE: usize = 28;

/// `v` (`C·H·W` values, row-major) as `C` maps of `H × W`.
///
/// # Panics
/// If `v` has not `C·H·W` values.
#[inline(always)]
fn maps<const C: usize, const H: usize, const W: usize>(v: &[f32]) -> &[[[f32; W]; H]; C] {
    let (rows, rest) = v.as_chunks::<W>();
    assert!(rest.is_empty(), "maps: rows of {W}");
    let (planes, rest) = rows.as_chunks::<H>();
    assert!(rest.is_empty(), "maps: maps of {H} rows");
    planes.try_into().expect("maps: the number of maps")
}

/// Maps as one flat array of their `N` values (row-major).
///
/// # Panics
/// If the maps have not `N` values.
#[inline(always)]
fn flat<const C: usize, const H: usize, const W: usize, const N: usize>(
    m: &[[[f32; W]; H]; C],
) -> &[f32; N] {
    m.as_flattened()
        .as_flattened()
        .try_into()
        .expect("flat: N values")
}

/// `tanh` of every value of some maps.
#[inline(always)]
fn tanh_maps<F: Flavor, const C: usize, const H: usize, const W: usize>(
    x: &[[[f32; W]; H]; C],
) -> [[[f32; W]; H]; C] {
    let mut y = *x;
    for v in y.as_flattened_mut().as_flattened_mut() {
        *v = F::tanh(*v);
    }
    y
}

/// `dy ∘ (1 − h²)` for the maps `h` of a tanh: dE/d(its input).
#[inline(always)]
fn tanh_slope<const C: usize, const H: usize, const W: usize>(
    h: &[[[f32; W]; H]; C],
    dy: &[[[f32; W]; H]; C],
) -> [[[f32; W]; H]; C] {
    let mut g = *dy;
    let hv = h.as_flattened().as_flattened();
    for (gi, hi) in g.as_flattened_mut().as_flattened_mut().iter_mut().zip(hv) {
        *gi *= 1.0 - hi * hi;
    }
    g
}

/// The output rows (or columns) `i < n_out` of a stride-1 convolution padded by `p` whose input
/// row (column) `i + u − p` is inside a map of `n`, for kernel row (column) `u`.
#[inline(always)]
fn inside(u: usize, p: usize, n: usize, n_out: usize) -> std::ops::Range<usize> {
    let lo = p.saturating_sub(u);
    lo..(n + p).saturating_sub(u).min(n_out).max(lo)
}

/// A convolution of stride 1: `CI` maps of `H × H` padded by `P` zeros on each side, into `CO`
/// maps of `OH × OH` (`OH = H + 2P − K + 1`, checked while compiling) by `K × K` kernels, one bias
/// per output map. `W` in the pool's layout `[CO][CI][K][K]`.
#[derive(Clone)]
struct Conv<const CI: usize, const CO: usize, const K: usize, const P: usize> {
    w: [[[[f32; K]; K]; CI]; CO],
    b: [f32; CO],
}

impl<const CI: usize, const CO: usize, const K: usize, const P: usize> Conv<CI, CO, K, P> {
    fn take(pool: &[f32], at: &mut usize) -> Self {
        Self {
            w: std::array::from_fn(|_| std::array::from_fn(|_| take_matrix(pool, at))),
            b: take(pool, at),
        }
    }

    fn extend(&self, pool: &mut Vec<f32>) {
        pool.extend(self.w.as_flattened().as_flattened().as_flattened());
        pool.extend(self.b);
    }

    /// `y[o] = b[o] + Σ_c W[o][c] ⋆ x[c]`, weight by weight over whole output rows (the loop over
    /// `j` vectorises): each output adds its terms in the order `(c, u, v)` after the bias.
    #[inline(always)]
    fn forward<const H: usize, const OH: usize>(
        &self,
        x: &[[[f32; H]; H]; CI],
    ) -> [[[f32; OH]; OH]; CO] {
        const { assert!(OH + K == H + 2 * P + 1, "conv: OH = H + 2P − K + 1") };
        let mut y = [[[0.0f32; OH]; OH]; CO];
        for o in 0..CO {
            for row in &mut y[o] {
                row.fill(self.b[o]);
            }
            for c in 0..CI {
                for u in 0..K {
                    for v in 0..K {
                        let wk = self.w[o][c][u][v];
                        let cols = inside(v, P, H, OH);
                        for i in inside(u, P, H, OH) {
                            let xr = &x[c][i + u - P][cols.start + v - P..];
                            for (yv, xv) in y[o][i][cols.clone()].iter_mut().zip(xr) {
                                *yv += wk * xv;
                            }
                        }
                    }
                }
            }
        }
        y
    }

    /// dE/dx = `Σ_o W[o]ᵀ ⋆ dy[o]`, in the loop order of [`Self::forward`].
    #[inline(always)]
    fn back<const H: usize, const OH: usize>(
        &self,
        dy: &[[[f32; OH]; OH]; CO],
    ) -> [[[f32; H]; H]; CI] {
        let mut dx = [[[0.0f32; H]; H]; CI];
        for o in 0..CO {
            for c in 0..CI {
                for u in 0..K {
                    for v in 0..K {
                        let wk = self.w[o][c][u][v];
                        let cols = inside(v, P, H, OH);
                        for i in inside(u, P, H, OH) {
                            let dxr = &mut dx[c][i + u - P][cols.start + v - P..];
                            for (d, g) in dxr.iter_mut().zip(&dy[o][i][cols.clone()]) {
                                *d += wk * g;
                            }
                        }
                    }
                }
            }
        }
        dx
    }

    /// The update from this sample's gradients, fused: `W −= lr · Σ dy ⋆ x`, `b −= lr · Σ dy`.
    /// Each weight's sum is kept in one partial sum per output column (eight, column `j mod 8`,
    /// for rows longer than 16, whose sums would not stay in registers), added over the rows (the
    /// loop over the columns vectorises), then the partial sums are added.
    #[inline(always)]
    fn update<const H: usize, const OH: usize>(
        &mut self,
        x: &[[[f32; H]; H]; CI],
        dy: &[[[f32; OH]; OH]; CO],
        lr: f32,
    ) {
        for o in 0..CO {
            for c in 0..CI {
                for u in 0..K {
                    for v in 0..K {
                        let cols = inside(v, P, H, OH);
                        let rows = inside(u, P, H, OH);
                        let sum = if OH <= 16 {
                            let mut acc = [0.0f32; OH];
                            for i in rows {
                                let xr = &x[c][i + u - P][cols.start + v - P..];
                                let acc = &mut acc[cols.clone()];
                                for ((a, g), xv) in
                                    acc.iter_mut().zip(&dy[o][i][cols.clone()]).zip(xr)
                                {
                                    *a += g * xv;
                                }
                            }
                            acc.iter().sum::<f32>()
                        } else {
                            // Rows too long for a partial sum per column in registers: eight
                            // partial sums (column `j mod 8` of the window), as the runtime does.
                            let mut acc = [0.0f32; 8];
                            for i in rows {
                                let g = &dy[o][i][cols.clone()];
                                let xr = &x[c][i + u - P][cols.start + v - P..][..g.len()];
                                let (g8, g_tail) = g.as_chunks::<8>();
                                let (x8, x_tail) = xr.as_chunks::<8>();
                                for (g, xv) in g8.iter().zip(x8) {
                                    for l in 0..8 {
                                        acc[l] += g[l] * xv[l];
                                    }
                                }
                                for (l, (g, xv)) in g_tail.iter().zip(x_tail).enumerate() {
                                    acc[l] += g * xv;
                                }
                            }
                            acc.iter().sum::<f32>()
                        };
                        self.w[o][c][u][v] -= lr * sum;
                    }
                }
            }
            self.b[o] -= lr * dy[o].as_flattened().iter().sum::<f32>();
        }
    }
}

/// LeNet-5's subsampling: each `S × S` window of each of `C` maps of `H × H` becomes its sum
/// times `a[c]` plus `b[c]`, into maps of `OH × OH` (`H = S·OH`, checked while compiling).
#[derive(Clone)]
struct Subsample<const C: usize, const S: usize> {
    a: [f32; C],
    b: [f32; C],
}

impl<const C: usize, const S: usize> Subsample<C, S> {
    fn take(pool: &[f32], at: &mut usize) -> Self {
        Self {
            a: take(pool, at),
            b: take(pool, at),
        }
    }

    fn extend(&self, pool: &mut Vec<f32>) {
        pool.extend(self.a);
        pool.extend(self.b);
    }

    /// The sum of the window of output `(i, j)` of map `x`, row by row.
    #[inline(always)]
    fn window<const H: usize>(x: &[[f32; H]; H], i: usize, j: usize) -> f32 {
        let mut s = 0.0f32;
        for u in 0..S {
            for v in 0..S {
                s += x[S * i + u][S * j + v];
            }
        }
        s
    }

    #[inline(always)]
    fn forward<const H: usize, const OH: usize>(
        &self,
        x: &[[[f32; H]; H]; C],
    ) -> [[[f32; OH]; OH]; C] {
        const { assert!(H == S * OH, "subsample: H = S·OH") };
        std::array::from_fn(|c| {
            std::array::from_fn(|i| {
                std::array::from_fn(|j| self.a[c] * Self::window(&x[c], i, j) + self.b[c])
            })
        })
    }

    /// dE/dx: `a[c] · dy` over each window.
    #[inline(always)]
    fn back<const H: usize, const OH: usize>(
        &self,
        dy: &[[[f32; OH]; OH]; C],
    ) -> [[[f32; H]; H]; C] {
        std::array::from_fn(|c| {
            std::array::from_fn(|r| std::array::from_fn(|s| self.a[c] * dy[c][r / S][s / S]))
        })
    }

    /// The update, fused: `a −= lr · Σ dy · (window sum)`, `b −= lr · Σ dy`, per map.
    #[inline(always)]
    fn update<const H: usize, const OH: usize>(
        &mut self,
        x: &[[[f32; H]; H]; C],
        dy: &[[[f32; OH]; OH]; C],
        lr: f32,
    ) {
        for c in 0..C {
            let (mut da, mut db) = (0.0f32, 0.0f32);
            for i in 0..OH {
                for j in 0..OH {
                    da += dy[c][i][j] * Self::window(&x[c], i, j);
                    db += dy[c][i][j];
                }
            }
            self.a[c] -= lr * da;
            self.b[c] -= lr * db;
        }
    }
}

/// LeNet-5 on one 28 × 28 image per step, every size a constant.
pub struct Lenet5<F> {
    k1: Conv<1, 6, 5, 2>,
    p2: Subsample<6, 2>,
    k3: Conv<6, 16, 5, 0>,
    p4: Subsample<16, 2>,
    l5: Layer<400, 120>,
    l6: Layer<120, 84>,
    l7: Layer<84, 10>,
    /// The arithmetic (a type, no data).
    flavor: PhantomData<F>,
}

impl<F: Flavor> Lenet5<F> {
    /// From a pool laid out as the generated net's: `W1, b1, a2, b2, W3, b3, a4, b4, W5, b5, W6,
    /// b6, W7, b7`.
    pub fn from_pool(p: &[f32]) -> Self {
        let at = &mut 0;
        let net = Self {
            k1: Conv::take(p, at),
            p2: Subsample::take(p, at),
            k3: Conv::take(p, at),
            p4: Subsample::take(p, at),
            l5: Layer::take(p, at),
            l6: Layer::take(p, at),
            l7: Layer::take(p, at),
            flavor: PhantomData,
        };
        assert_eq!(*at, p.len(), "lenet5: pool layout");
        net
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        let mut p = Vec::new();
        self.k1.extend(&mut p);
        self.p2.extend(&mut p);
        self.k3.extend(&mut p);
        self.p4.extend(&mut p);
        self.l5.extend(&mut p);
        self.l6.extend(&mut p);
        self.l7.extend(&mut p);
        p
    }

    /// One training step on `(x, y)`; returns the energy before the update.
    #[inline]
    pub fn step(&mut self, x: &[f32; LENET_SIDE * LENET_SIDE], y: &[f32; 10], lr: f32) -> f32 {
        let x = maps::<1, 28, 28>(x);
        let h1 = tanh_maps::<F, 6, 28, 28>(&self.k1.forward(x));
        let g2 = tanh_maps::<F, 6, 14, 14>(&self.p2.forward(&h1));
        let h3 = tanh_maps::<F, 16, 10, 10>(&self.k3.forward(&g2));
        let g4 = tanh_maps::<F, 16, 5, 5>(&self.p4.forward(&h3));
        let g4v = flat::<16, 5, 5, 400>(&g4);
        let h5 = self.l5.forward::<F>(g4v);
        let h6 = self.l6.forward::<F>(&h5);
        let out = self.l7.affine::<F>(&h6);
        let mut sq = 0.0f32;
        let mut g7 = [0.0f32; 10];
        for k in 0..10 {
            let d = out[k] - y[k];
            sq += d * d;
            g7[k] = d;
        }

        let g6 = Layer::<120, 84>::slope(&h6, &self.l7.back(&g7));
        let g5 = Layer::<400, 120>::slope(&h5, &self.l6.back(&g6));
        let dg4 = self.l5.back(&g5);
        let ds4 = tanh_slope(&g4, maps::<16, 5, 5>(&dg4));
        self.l7.update(&h6, &g7, lr);
        self.l6.update(&h5, &g6, lr);
        self.l5.update(g4v, &g5, lr);
        let dc3 = tanh_slope(&h3, &self.p4.back(&ds4));
        self.p4.update(&h3, &ds4, lr);
        let ds2 = tanh_slope(&g2, &self.k3.back(&dc3));
        self.k3.update(&g2, &dc3, lr);
        let dc1 = tanh_slope(&h1, &self.p2.back(&ds2));
        self.p2.update(&h1, &ds2, lr);
        self.k1.update(x, &dc1, lr);
        0.5 * sq
    }
}

/// The lengths of LeNet-5's parameter tensors in the pool, in order: `W1, b1, a2, b2, W3, b3,
/// a4, b4, W5, b5, W6, b6, W7, b7`.
const LENET_TENSORS: [usize; 14] = [
    6 * 25,
    6,
    6,
    6,
    16 * 6 * 25,
    16,
    16,
    16,
    120 * 400,
    120,
    84 * 120,
    84,
    10 * 84,
    10,
];
// The tensors' indices in `LENET_TENSORS`.
const W1: usize = 0;
const B1: usize = 1;
const A2: usize = 2;
const B2: usize = 3;
const W3: usize = 4;
const B3: usize = 5;
const A4: usize = 6;
const B4: usize = 7;
const W5: usize = 8;
const B5: usize = 9;
const W6: usize = 10;
const B6: usize = 11;
const W7: usize = 12;
const B7: usize = 13;

/// A convolution of stride 1 and `k × k` kernels as im2col sees it: `c` maps of `h × h` padded by
/// `p` zeros into maps of `oh × oh`. Its patch matrix on `rows` samples has one row per kernel
/// weight `(c, u, v)` and one column per output value `(sample, i, j)`: the input value that
/// weight meets there, `x[sample][c][i + u − p][j + v − p]`, or 0 in the padding. The positions
/// of the padding are the same for every batch: the zeros are written once, when the matrix is
/// allocated, and never touched again.
#[derive(Clone, Copy)]
struct Im2col {
    c: usize,
    h: usize,
    k: usize,
    p: usize,
    oh: usize,
}

impl Im2col {
    /// Rows of the patch matrix: `c·k·k`.
    fn patch(&self) -> usize {
        self.c * self.k * self.k
    }

    /// Values of an input sample: `c·h·h`.
    fn in_len(&self) -> usize {
        self.c * self.h * self.h
    }

    /// Output values of a map: `oh·oh`.
    fn ohw(&self) -> usize {
        self.oh * self.oh
    }

    /// The runs of the patch matrix that lie inside the maps, on `rows` samples: `f(at, from,
    /// n)`, values `at..at + n` of the patch matrix are values `from..from + n` of the inputs.
    #[inline(always)]
    fn runs(&self, rows: usize, mut f: impl FnMut(usize, usize, usize)) {
        let (k, p, h, oh) = (self.k, self.p, self.h, self.oh);
        let width = rows * self.ohw();
        for c in 0..self.c {
            for u in 0..k {
                for v in 0..k {
                    let q = (c * k + u) * k + v;
                    let cols = inside(v, p, h, oh);
                    for s in 0..rows {
                        for i in inside(u, p, h, oh) {
                            let at = q * width + (s * oh + i) * oh + cols.start;
                            let from =
                                s * self.in_len() + (c * h + i + u - p) * h + cols.start + v - p;
                            f(at, from, cols.len());
                        }
                    }
                }
            }
        }
    }

    /// The patch matrix of `rows` samples `x` into `col` (its padding left as it is: zero).
    fn im2col(&self, rows: usize, x: &[f32], col: &mut [f32]) {
        self.runs(rows, |at, from, n| {
            col[at..at + n].copy_from_slice(&x[from..from + n]);
        });
    }

    /// The converse for the derivatives: `dx = Σ` of the patch matrix's derivatives `dcol` over
    /// the places each input value went to (overwritten).
    fn col2im(&self, rows: usize, dcol: &[f32], dx: &mut [f32]) {
        dx[..rows * self.in_len()].fill(0.0);
        self.runs(rows, |at, from, n| {
            for (d, g) in dx[from..from + n].iter_mut().zip(&dcol[at..at + n]) {
                *d += g;
            }
        });
    }
}

/// LeNet-5 (as [`Lenet5`]) on minibatches of `batch` samples, the straightforward batched version:
/// each convolution is an im2col into a patch matrix allocated once, then one
/// `matrixmultiply::sgemm` for the whole batch (`Y = W·P`, `W` as `maps × (c·k·k)`), and the same
/// for its derivatives (`dW = dY·Pᵀ`, and for C3 `dP = Wᵀ·dY`, back to the maps by col2im); the
/// fully connected layers as [`Minibatch`]; subsampling, biases and tanh in plain loops. Samples
/// are rows (maps, then rows, then columns, as the generated network's); a convolution's product
/// comes out as `maps × (sample, i, j)` and goes to rows in the loop that adds its bias and takes
/// the tanh (its derivative comes back the other way in the subsampling's backward loop).
pub struct LenetBatch<F: Flavor> {
    batch: usize,
    /// The parameters, one vector per tensor of [`LENET_TENSORS`], and their gradients.
    p: Vec<Vec<f32>>,
    g: Vec<Vec<f32>>,
    c1: Im2col,
    c3: Im2col,
    /// Patch matrices, `patch × batch·ohw`.
    col1: Vec<f32>,
    col3: Vec<f32>,
    /// A convolution's product, `maps × batch·ohw`; then dE/d(it).
    y1: Vec<f32>,
    y3: Vec<f32>,
    /// The derivatives of C3's patch matrix.
    dcol3: Vec<f32>,
    /// The states, `batch ×` their width: after C1 and tanh, S2 and tanh, C3 and tanh, S4 and
    /// tanh, F5 and tanh, F6 and tanh, F7.
    h1: Vec<f32>,
    g2: Vec<f32>,
    h3: Vec<f32>,
    g4: Vec<f32>,
    h5: Vec<f32>,
    h6: Vec<f32>,
    out: Vec<f32>,
    /// dE/d(state), `batch ×` its width: of F7's output, and of the inputs of the tanh after F6,
    /// F5, S4 and S2.
    d7: Vec<f32>,
    d6: Vec<f32>,
    d5: Vec<f32>,
    d4: Vec<f32>,
    d2: Vec<f32>,
    /// The arithmetic (a type, no data).
    flavor: PhantomData<F>,
}

/// LeNet-5's S2 and S4: windows of 2 × 2.
const LENET_WINDOW: usize = 2;

/// Subsampling of `maps` maps of `h × h` on each row (`rows · maps` maps in all, row-major):
/// `y = tanh(a·(window sum) + b)`.
fn subsample_tanh<F: Flavor>(
    x: &[f32],
    y: &mut [f32],
    (a, b): (&[f32], &[f32]),
    maps: usize,
    h: usize,
) {
    let (k, oh) = (LENET_WINDOW, h / LENET_WINDOW);
    for (m, (xm, ym)) in x
        .chunks_exact(h * h)
        .zip(y.chunks_exact_mut(oh * oh))
        .enumerate()
    {
        let c = m % maps;
        for i in 0..oh {
            for j in 0..oh {
                let mut s = 0.0f32;
                for u in 0..k {
                    for v in 0..k {
                        s += xm[(k * i + u) * h + k * j + v];
                    }
                }
                ym[i * oh + j] = F::tanh(a[c] * s + b[c]);
            }
        }
    }
}

/// The derivatives of [`subsample_tanh`]'s subsampling, whose input `x` (rows) is the tanh of a
/// convolution's product, from `dy` (rows: dE/d its output before its own tanh): `da = Σ dy ·
/// (window sum)` and `db = Σ dy` over the batch (overwritten), and dE/d(the convolution's
/// product) `a · dy · (1 − x²)` over each window, into `dz` in the product's layout `maps ×
/// rows·h·h` (overwritten).
fn subsample_back(
    x: &[f32],
    dy: &[f32],
    (a, da, db): (&[f32], &mut [f32], &mut [f32]),
    dz: &mut [f32],
    maps: usize,
    h: usize,
) {
    let (k, oh) = (LENET_WINDOW, h / LENET_WINDOW);
    let rows = x.len() / (maps * h * h);
    da.fill(0.0);
    db.fill(0.0);
    for (m, (xm, dym)) in x
        .chunks_exact(h * h)
        .zip(dy.chunks_exact(oh * oh))
        .enumerate()
    {
        let (s, c) = (m / maps, m % maps);
        let dzm = &mut dz[(c * rows + s) * h * h..][..h * h];
        for i in 0..oh {
            for j in 0..oh {
                let d = dym[i * oh + j];
                let mut sum = 0.0f32;
                for u in 0..k {
                    for v in 0..k {
                        let at = (k * i + u) * h + k * j + v;
                        sum += xm[at];
                        dzm[at] = a[c] * d * (1.0 - xm[at] * xm[at]);
                    }
                }
                da[c] += d * sum;
                db[c] += d;
            }
        }
    }
}

/// `tanh(Y + b)` of a convolution's product `y` (`maps × rows·ohw`) into rows `h` (`rows × maps ·
/// ohw`).
fn conv_tanh<F: Flavor>(y: &[f32], b: &[f32], h: &mut [f32], maps: usize, ohw: usize) {
    let rows = y.len() / (maps * ohw);
    for (o, ym) in y.chunks_exact(rows * ohw).enumerate() {
        for (s, ys) in ym.chunks_exact(ohw).enumerate() {
            let hs = &mut h[(s * maps + o) * ohw..][..ohw];
            for (hv, yv) in hs.iter_mut().zip(ys) {
                *hv = F::tanh(yv + b[o]);
            }
        }
    }
}

/// A fully connected layer on rows: `out = x·Wᵀ + b`, then its tanh if `tanh` (`x`: `rows × i`,
/// `W`: `o × i`).
fn dense<F: Flavor>(
    x: &[f32],
    (w, b): (&[f32], &[f32]),
    out: &mut [f32],
    (i, o): (usize, usize),
    tanh: bool,
) {
    let rows = x.len() / i;
    matmul((rows, i, o), (x, i, 1), (w, 1, i), out);
    for row in out.chunks_exact_mut(o) {
        for (v, bi) in row.iter_mut().zip(b) {
            *v = if tanh { F::tanh(*v + bi) } else { *v + bi };
        }
    }
}

/// The derivatives of [`dense`] from `g` (dE/d its output before the tanh, `rows × o`): `dW =
/// gᵀ·x` and `db` the column sums of `g` (overwritten), and dE/dx = `g·W` times `1 − x²` (`x` the
/// output of a tanh: dE/d its input).
fn dense_back(
    x: &[f32],
    (w, dw, db): (&[f32], &mut [f32], &mut [f32]),
    g: &[f32],
    dx: &mut [f32],
    (i, o): (usize, usize),
) {
    let rows = x.len() / i;
    db.fill(0.0);
    for gr in g.chunks_exact(o) {
        for (d, gi) in db.iter_mut().zip(gr) {
            *d += gi;
        }
    }
    matmul((o, rows, i), (g, 1, o), (x, i, 1), dw);
    matmul((rows, o, i), (g, o, 1), (w, i, 1), dx);
    for (d, xv) in dx.iter_mut().zip(x) {
        *d *= 1.0 - xv * xv;
    }
}

/// The sum of each map's values of a convolution's product (`maps × n`) into `db`.
fn map_sums(dy: &[f32], db: &mut [f32]) {
    let n = dy.len() / db.len();
    for (d, ym) in db.iter_mut().zip(dy.chunks_exact(n)) {
        *d = ym.iter().sum();
    }
}

impl<F: Flavor> LenetBatch<F> {
    /// From a pool laid out as the generated net's (as [`Lenet5::from_pool`]), for batches of
    /// `batch` samples.
    pub fn from_pool(pool: &[f32], batch: usize) -> Self {
        let mut at = 0;
        let p: Vec<Vec<f32>> = LENET_TENSORS
            .iter()
            .map(|&n| {
                at += n;
                pool[at - n..at].to_vec()
            })
            .collect();
        assert_eq!(at, pool.len(), "lenet batch: pool layout");
        let g = LENET_TENSORS.iter().map(|&n| vec![0.0; n]).collect();
        let c1 = Im2col {
            c: 1,
            h: 28,
            k: 5,
            p: 2,
            oh: 28,
        };
        let c3 = Im2col {
            c: 6,
            h: 14,
            k: 5,
            p: 0,
            oh: 10,
        };
        let rows = |n: usize| vec![0.0f32; batch * n];
        Self {
            batch,
            p,
            g,
            col1: rows(c1.patch() * c1.ohw()),
            col3: rows(c3.patch() * c3.ohw()),
            y1: rows(6 * c1.ohw()),
            y3: rows(16 * c3.ohw()),
            dcol3: rows(c3.patch() * c3.ohw()),
            h1: rows(6 * 28 * 28),
            g2: rows(6 * 14 * 14),
            h3: rows(16 * 10 * 10),
            g4: rows(400),
            h5: rows(120),
            h6: rows(84),
            out: rows(OUT),
            d7: rows(OUT),
            d6: rows(84),
            d5: rows(120),
            d4: rows(400),
            d2: rows(6 * 14 * 14),
            c1,
            c3,
            flavor: PhantomData,
        }
    }

    /// Samples per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The parameters as a pool, in the generated net's layout.
    pub fn to_pool(&self) -> Vec<f32> {
        self.p.concat()
    }

    /// One training step on a batch of `batch` samples; returns the batch's energy (the sum of
    /// the samples') before the update.
    pub fn step(&mut self, xs: &[[f32; IN]], ys: &[[f32; OUT]], lr: f32) -> f32 {
        let rows = self.batch;
        assert!(
            xs.len() == rows && ys.len() == rows,
            "lenet batch: {rows} samples"
        );
        let x = xs.as_flattened();
        let (p, c1, c3) = (&self.p, self.c1, self.c3);
        let (k1, k3) = (c1.patch(), c3.patch());
        let (n1, n3) = (rows * c1.ohw(), rows * c3.ohw());

        // Forward: C1 = W1·P1, its bias and tanh into rows, S2 and tanh, C3 the same, S4, then
        // the fully connected layers.
        c1.im2col(rows, x, &mut self.col1);
        matmul(
            (6, k1, n1),
            (&p[W1], k1, 1),
            (&self.col1, n1, 1),
            &mut self.y1,
        );
        conv_tanh::<F>(&self.y1, &p[B1], &mut self.h1, 6, c1.ohw());
        subsample_tanh::<F>(&self.h1, &mut self.g2, (&p[A2], &p[B2]), 6, 28);
        c3.im2col(rows, &self.g2, &mut self.col3);
        matmul(
            (16, k3, n3),
            (&p[W3], k3, 1),
            (&self.col3, n3, 1),
            &mut self.y3,
        );
        conv_tanh::<F>(&self.y3, &p[B3], &mut self.h3, 16, c3.ohw());
        subsample_tanh::<F>(&self.h3, &mut self.g4, (&p[A4], &p[B4]), 16, 10);
        dense::<F>(&self.g4, (&p[W5], &p[B5]), &mut self.h5, (400, 120), true);
        dense::<F>(&self.h5, (&p[W6], &p[B6]), &mut self.h6, (120, 84), true);
        dense::<F>(&self.h6, (&p[W7], &p[B7]), &mut self.out, (84, OUT), false);

        // Energy Σ_r ½‖o_r − y_r‖², and its derivative O − Y.
        let mut energy = 0.0f32;
        for ((o, y), d) in self
            .out
            .chunks_exact(OUT)
            .zip(ys)
            .zip(self.d7.chunks_exact_mut(OUT))
        {
            let mut sq = 0.0f32;
            for k in 0..OUT {
                d[k] = o[k] - y[k];
                sq += d[k] * d[k];
            }
            energy += 0.5 * sq;
        }

        // Backward, every gradient summed over the batch; the products' buffers `y1` and `y3`
        // take dE/d(the product).
        let [
            gw1,
            gb1,
            ga2,
            gb2,
            gw3,
            gb3,
            ga4,
            gb4,
            gw5,
            gb5,
            gw6,
            gb6,
            gw7,
            gb7,
        ] = &mut self.g[..]
        else {
            unreachable!("fourteen tensors")
        };
        dense_back(
            &self.h6,
            (&p[W7], gw7, gb7),
            &self.d7,
            &mut self.d6,
            (84, OUT),
        );
        dense_back(
            &self.h5,
            (&p[W6], gw6, gb6),
            &self.d6,
            &mut self.d5,
            (120, 84),
        );
        dense_back(
            &self.g4,
            (&p[W5], gw5, gb5),
            &self.d5,
            &mut self.d4,
            (400, 120),
        );
        subsample_back(&self.h3, &self.d4, (&p[A4], ga4, gb4), &mut self.y3, 16, 10);
        map_sums(&self.y3, gb3);
        // dW3 = dY3·P3ᵀ, dP3 = W3ᵀ·dY3, back to S2's rows by col2im, through S2's tanh.
        matmul((16, n3, k3), (&self.y3, n3, 1), (&self.col3, 1, n3), gw3);
        matmul(
            (k3, 16, n3),
            (&p[W3], 1, k3),
            (&self.y3, n3, 1),
            &mut self.dcol3,
        );
        c3.col2im(rows, &self.dcol3, &mut self.d2);
        for (d, gv) in self.d2.iter_mut().zip(&self.g2) {
            *d *= 1.0 - gv * gv;
        }
        subsample_back(&self.h1, &self.d2, (&p[A2], ga2, gb2), &mut self.y1, 6, 28);
        map_sums(&self.y1, gb1);
        // dW1 = dY1·P1ᵀ (nothing computes dE/d(input)).
        matmul((6, n1, k1), (&self.y1, n1, 1), (&self.col1, 1, n1), gw1);

        // Update.
        for (w, g) in self.p.iter_mut().zip(&self.g) {
            for (wi, gi) in w.iter_mut().zip(g) {
                *wi -= lr * gi;
            }
        }
        energy
    }
}
