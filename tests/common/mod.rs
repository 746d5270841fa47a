//! Helpers shared by the integration tests: finite differences, random samples, and user
//! modules (one that keeps state between its fprop and bprop; parametric ReLUs, `prelu!`).
#![allow(dead_code)]

use bpnet::prelude::*;

/// Relative tolerance of the finite-difference checks (central differences, f64, step 1e-5).
pub const TOL: f64 = 1e-6;

/// Central-difference gradient of `f` at `v`, step 1e-5.
pub fn numeric(f: &mut dyn FnMut(&[f64]) -> f64, v: &[f64]) -> Vec<f64> {
    let h = 1e-5;
    (0..v.len())
        .map(|i| {
            let (mut up, mut down) = (v.to_vec(), v.to_vec());
            up[i] += h;
            down[i] -= h;
            (f(&up) - f(&down)) / (2.0 * h)
        })
        .collect()
}

/// bprop's derivatives against finite differences: `|a − n| / max(|a|, |n|, 1e-3) ≤ TOL`.
pub fn assert_close(what: &str, bprop: &[f64], fd: &[f64]) {
    assert_eq!(bprop.len(), fd.len(), "{what}: lengths differ");
    for (a, n) in bprop.iter().zip(fd) {
        let err = (a - n).abs() / a.abs().max(n.abs()).max(1e-3);
        assert!(
            err <= TOL,
            "{what}: bprop {bprop:?} vs finite differences {fd:?}"
        );
    }
}

/// Equal to 1e-10, relative: `|a − b| ≤ 1e-10 · max(|a|, |b|, 1)` for every pair (a batch against
/// the sums over its samples, which add in another order).
pub fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-10 * x.abs().max(y.abs()).max(1.0))
}

/// The bits of a gradient pool, so that `assert_eq!` compares bit for bit (`-0.0 != 0.0`). An
/// `f32` pool too: every `f32` is exactly one `f64`, so equal bits here are equal `f32` bits.
pub fn bits<F: Copy + Into<f64>>(v: &[F]) -> Vec<u64> {
    v.iter().map(|&g| g.into().to_bits()).collect()
}

/// `n` random rows of `W` values in [−1, 1).
pub fn rows<const W: usize>(n: usize, rng: &mut StdRng) -> Vec<[f64; W]> {
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect()
}

/// [`rows`] rounded to `f32`: the same values an `f64` test draws, for an `f32` network.
#[allow(dead_code)]
pub fn rows32<const W: usize>(n: usize, rng: &mut StdRng) -> Vec<[f32; W]> {
    rows::<W>(n, rng)
        .iter()
        .map(|r| r.map(|v| v as f32))
        .collect()
}

/// A user module y = s ∘ x² that keeps its input for bprop, so it is wrong if one value serves
/// several steps or several samples of a batch.
pub struct Square {
    seen: [f64; 4],
}

impl Square {
    /// The input of its last fprop.
    pub fn seen(&self) -> [f64; 4] {
        self.seen
    }
}

impl Module for Square {
    type Float = f64;
    const IN: usize = 4;
    const OUT: usize = 4;
    const PARAMS: usize = 4;
    fn create() -> Self {
        Square { seen: [0.0; 4] }
    }
    fn init<R: bpnet::rand::Rng + ?Sized>(params: &mut [f64], _rng: &mut R) {
        params.fill(0.5);
    }
    fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
        self.seen.copy_from_slice(x);
        for i in 0..4 {
            y[i] = p[i] * x[i] * x[i];
        }
    }
    fn bprop(
        &mut self,
        p: &[f64],
        g: &mut [f64],
        _x: &[f64],
        _y: &[f64],
        dy: &[f64],
        dx: &mut [f64],
    ) {
        // Reads its own saved input, not the one it is handed.
        let x = self.seen;
        for i in 0..4 {
            dx[i] += 2.0 * p[i] * x[i] * dy[i];
            g[i] += x[i] * x[i] * dy[i];
        }
    }
}

/// `n` random values in [−1, 1).
pub fn sample(n: usize, rng: &mut StdRng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Random parameters in [−1, 1) (biases start at zero otherwise).
pub fn randomise(params: &mut [f64], rng: &mut StdRng) {
    for p in params {
        *p = rng.random_range(-1.0..1.0);
    }
}

/// `J[o][k] = ∂out_o/∂p_k` by central differences (step 1e-5).
pub fn param_jacobian(p: &[f64], mut out: impl FnMut(&[f64]) -> Vec<f64>) -> Vec<Vec<f64>> {
    let h = 1e-5;
    let cols: Vec<Vec<f64>> = (0..p.len())
        .map(|k| {
            let (mut up, mut down) = (p.to_vec(), p.to_vec());
            up[k] += h;
            down[k] -= h;
            let (a, b) = (out(&up), out(&down));
            a.iter().zip(&b).map(|(a, b)| (a - b) / (2.0 * h)).collect()
        })
        .collect();
    let outs = cols.first().map_or(0, Vec::len);
    (0..outs)
        .map(|o| cols.iter().map(|c| c[o]).collect())
        .collect()
}

/// `diag(Jᵀ J)` of a Jacobian.
pub fn gn_diag(j: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| j.iter().map(|row| row[k] * row[k]).sum())
        .collect()
}

/// Declares `$name`, a network with every kind added by issue 11 (the same state read by several
/// of them), in the float its attributes say: `zoo!(Zoo, #[bpnet(float = f64)]);`.
#[allow(unused_macros)]
macro_rules! zoo {
    ($name:ident, $($attr:tt)*) => {
        network! {
            /// Every kind added by issue 11.
            $($attr)*
            pub struct $name {
                input  x: 4;
                target y: 3;
                a      = la: linear(x -> 6, bias = true);
                r      = relu(a);
                l      = leaky_relu(a, slope = 0.1);
                s      = softplus(l);
                t      = tanh(s, bias = false);
                g      = sigmoid(r, bias = false);
                st     = scaled_tanh(g, bias = false);
                m      = mul(t, st);
                d      = sub(m, r);
                c      = scale(d, by = -0.5);
                k      = concat(c, t);
                p      = slice(k, from = 3, to = 9);
                out    = lo: linear(p -> 3);
                energy = euclidean(out, y);
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use zoo;

/// Back-propagation through time of `$net.fprop(&xs, &ys)` (f64, inputs of width `$w`) against
/// finite differences: the parameters by `check_gradients` (input gradients off), and dE/dx of
/// every input at every step by central differences (input gradients on), to `TOL`.
#[allow(unused_macros)]
macro_rules! check_through_time {
    ($net:expr, $xs:expr, $ys:expr, $w:literal) => {{
        let (net, xs, ys) = (&mut $net, &$xs, &$ys);
        let len = xs.len();
        net.set_input_grads(false);
        let report = check_gradients(net, |n| n.fprop(xs, ys).unwrap());
        assert!(report.passes($crate::common::TOL), "len {len}:\n{report}");
        let flat: Vec<f64> = xs.iter().flatten().copied().collect();
        let ndx = $crate::common::numeric(
            &mut |v| {
                let xs: Vec<[f64; $w]> = v.chunks($w).map(|c| c.try_into().unwrap()).collect();
                net.fprop(&xs, ys).unwrap()
            },
            &flat,
        );
        net.set_input_grads(true);
        net.fprop(xs, ys).unwrap();
        net.bprop();
        let dx: Vec<f64> = (0..len).flat_map(|t| net.x[t].dx).collect();
        $crate::common::assert_close("dE/dx through time", &dx, &ndx);
    }};
}
#[allow(unused_imports)]
pub(crate) use check_through_time;

/// A minibatch (`fprop_batch`, `bprop_batch`, `bbprop_batch`) against the sum of its samples or
/// sequences (`seq`: `fprop` returns a `Result`), in energies, gradients and curvatures, to 1e-10;
/// `$rows` rows reserved. Returns the curvature. For networks of more than an input and a target,
/// the general form takes the per-sample call of sample `i` and the minibatch call:
/// `batch_is_the_sum!(net, 4, |i| net.fprop(&xs[i], &ys[i], &vs[i]), net.fprop_batch(&xs, &ys, &vs))`.
#[allow(unused_macros)]
macro_rules! batch_is_the_sum {
    ($net:expr, $rows:expr, |$i:ident| $one:expr, $batch:expr) => {
        $crate::common::batch_is_the_sum!($net, $rows, $rows, |$i| $one, $batch)
    };
    ($net:expr, $n:expr, $rows:expr, |$i:ident| $one:expr, $batch:expr) => {{
        $net.set_input_grads(false);
        $net.zero_grad();
        $net.zero_curvature();
        let mut energy = 0.0;
        for $i in 0..$n {
            energy += $one;
            $net.bprop();
            $net.bbprop();
        }
        let (grads, curv) = ($net.grads().to_vec(), $net.curvature().to_vec());
        $net.reserve_batch($rows).unwrap();
        $net.zero_grad();
        $net.zero_curvature();
        let batch = $batch.unwrap();
        $net.bprop_batch();
        $net.bbprop_batch();
        assert!(
            $crate::common::close(&[batch], &[energy]),
            "{batch} vs {energy}"
        );
        assert!(
            $crate::common::close($net.grads(), &grads),
            "{:?}\nvs\n{grads:?}",
            $net.grads()
        );
        assert!($crate::common::close($net.curvature(), &curv));
        curv
    }};
    ($net:expr, $xs:expr, $ys:expr, $rows:expr) => {{
        let (xs, ys) = (&$xs, &$ys);
        $crate::common::batch_is_the_sum!(
            $net,
            xs.len(),
            $rows,
            |i| $net.fprop(&xs[i], &ys[i]),
            $net.fprop_batch(xs, ys)
        )
    }};
    ($net:expr, $xs:expr, $ys:expr, $rows:expr, seq) => {{
        let (xs, ys) = (&$xs, &$ys);
        $crate::common::batch_is_the_sum!(
            $net,
            xs.len(),
            $rows,
            |i| $net.fprop(&xs[i], &ys[i]).unwrap(),
            $net.fprop_batch(xs, ys)
        )
    }};
}
#[allow(unused_imports)]
pub(crate) use batch_is_the_sum;

/// Two small f64 networks: `Net` (2-3-1, tanh, Euclidean energy) and `Elman` (input 1, hidden 3,
/// unfolded over 4 steps, the energy summed).
#[allow(unused_macros)]
macro_rules! small_nets {
    () => {
        network! {
            #[bpnet(float = f64)]
            pub struct Net {
                input  x: 2;
                target y: 1;
                s      = l1: linear(x -> 3);
                h      = t1: tanh(s);
                out    = l2: linear(h -> 1);
                energy = euclidean(out, y);
            }
        }

        network! {
            #[bpnet(float = f64)]
            pub struct Elman {
                unfold 4 {
                    input  x: 1;
                    target y: 1;
                    s      = wx: linear(x -> 3);
                    c      = wh: linear(h[t - 1] -> 3);
                    a      = add(s, c);
                    h      = th: tanh(a);
                    o      = wo: linear(h -> 1);
                    e      = euclidean(o, y);
                }
                energy = sum(e);
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use small_nets;

/// The bprop of y = x (x > 0), a·x (x ≤ 0), one slope `a` per unit; `writes` writes `g`
/// (`=`) instead of adding to it, the bug these tests are about.
#[allow(clippy::too_many_arguments)]
pub fn prelu_bprop(a: &[f64], g: &mut [f64], x: &[f64], dy: &[f64], dx: &mut [f64], writes: bool) {
    for i in 0..x.len() {
        let (d, w) = if x[i] > 0.0 {
            (dy[i], 0.0)
        } else {
            (a[i] * dy[i], x[i] * dy[i])
        };
        dx[i] += d;
        if writes {
            g[i] = w;
        } else {
            g[i] += w;
        }
    }
}

#[allow(unused_macros)]
macro_rules! prelu {
    ($name:ident, $writes:expr) => {
        /// A parametric ReLU of four units.
        #[derive(Clone)]
        pub struct $name;

        impl Module for $name {
            type Float = f64;
            const IN: usize = 4;
            const OUT: usize = 4;
            const PARAMS: usize = 4;
            fn create() -> Self {
                $name
            }
            fn init<R: Rng + ?Sized>(params: &mut [f64], _rng: &mut R) {
                params.fill(0.25);
            }
            fn fprop(&mut self, a: &[f64], x: &[f64], y: &mut [f64]) {
                for i in 0..4 {
                    y[i] = if x[i] > 0.0 { x[i] } else { a[i] * x[i] };
                }
            }
            fn bprop(
                &mut self,
                a: &[f64],
                g: &mut [f64],
                x: &[f64],
                _y: &[f64],
                dy: &[f64],
                dx: &mut [f64],
            ) {
                $crate::common::prelu_bprop(a, g, x, dy, dx, $writes);
            }
        }

        impl Bbprop for $name {
            fn bbprop(
                &mut self,
                a: &[f64],
                dd: &mut [f64],
                x: &[f64],
                _y: &[f64],
                ddy: &[f64],
                ddx: &mut [f64],
            ) {
                for i in 0..4 {
                    if x[i] > 0.0 {
                        ddx[i] += ddy[i];
                    } else {
                        ddx[i] += a[i] * a[i] * ddy[i];
                        dd[i] += x[i] * x[i] * ddy[i];
                    }
                }
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use prelu;

/// Every check on one network type: gradients of the parameters, inputs and targets against
/// finite differences on five random samples; with `exact`, bbprop against the Gauss–Newton
/// diagonal; a minibatch of six against the sum of its samples.
#[allow(unused_macros)]
macro_rules! check_kind {
    ($net:ident, $nx:literal, $ny:literal, $seed:expr, exact: $exact:expr) => {{
        let mut rng =
            <::bpnet::prelude::StdRng as ::bpnet::prelude::SeedableRng>::seed_from_u64($seed);
        let mut net = $net::new(&mut rng);
        $crate::common::randomise(net.params_mut(), &mut rng);
        for round in 0..5 {
            let (x, y) = (
                $crate::common::sample($nx, &mut rng),
                $crate::common::sample($ny, &mut rng),
            );
            net.set_input_grads(false);
            let report = ::bpnet::check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
            assert!(
                report.passes($crate::common::TOL),
                "{} round {round}:\n{report}",
                stringify!($net)
            );
            let ndx = $crate::common::numeric(&mut |v| net.try_fprop(v, &y).unwrap(), &x);
            let ndy = $crate::common::numeric(&mut |v| net.try_fprop(&x, v).unwrap(), &y);
            net.set_input_grads(true);
            net.try_fprop(&x, &y).unwrap();
            net.bprop();
            $crate::common::assert_close(concat!(stringify!($net), " dE/dx"), &net.x.dx, &ndx);
            $crate::common::assert_close(concat!(stringify!($net), " dE/dy"), &net.y.dx, &ndy);
            if $exact {
                let p = net.params().to_vec();
                let j = $crate::common::param_jacobian(&p, |v| {
                    net.params_mut().copy_from_slice(v);
                    net.try_fprop(&x, &y).unwrap();
                    net.out.x.to_vec()
                });
                net.params_mut().copy_from_slice(&p);
                let gn: Vec<f64> = (0..p.len())
                    .map(|k| j.iter().map(|row| row[k] * row[k]).sum())
                    .collect();
                net.try_fprop(&x, &y).unwrap();
                net.zero_curvature();
                net.bbprop();
                $crate::common::assert_close(
                    concat!(stringify!($net), " bbprop"),
                    net.curvature(),
                    &gn,
                );
            }
        }
        // A minibatch is the sum of its samples, in gradients and curvatures.
        let (xs, ys) = (
            $crate::common::rows::<$nx>(6, &mut rng),
            $crate::common::rows::<$ny>(6, &mut rng),
        );
        $crate::common::batch_is_the_sum!(net, xs, ys, 8);
        net
    }};
}
#[allow(unused_imports)]
pub(crate) use check_kind;
