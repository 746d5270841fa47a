//! Review probes of the kinds added by issue 11 (`relu`, `leaky_relu`, `softplus`, the sigmoid
//! modules without a bias, `scale`, `mul`, `sub`, `concat`, `slice`, `linear(…, bias = true)`) in
//! graph shapes `tests/kinds.rs` does not cover: a state read twice by one module, inputs and
//! targets read directly, delayed reads and self-reads inside `unfold` with learned initial
//! values and continued calls, `sum`/`last` feeding new kinds, energies made of several terms,
//! nested networks and user modules, f32.
//!
//! Every check compares against an independent computation: central finite differences (f64,
//! step 1e-5, relative tolerance `common::TOL` = 1e-6), `diag(Jᵀ J)` from finite-difference
//! Jacobians, or the sum of per-sample runs.

use bpnet::prelude::*;

mod common;

use common::{
    TOL, assert_close, bits, close, gn_diag, numeric, param_jacobian, randomise, rows, sample,
};

// ---------------------------------------------------------------------------------------------
// One state read twice by one module.

network! {
    /// `sub(a, a)`, `mul(a, a)`, `concat(a, a)`, `add(a, a)` of one affine state.
    #[bpnet(float = f64)]
    struct Repeated {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4, bias = true);
        b      = lb: linear(x -> 4);
        s      = sub(a, a);
        m      = mul(a, a);
        c      = concat(a, a);
        cs     = slice(c, from = 2, to = 6);
        d      = add(a, a);
        z      = add(s, m, cs, d, b);
        t      = tanh(z, bias = false);
        out    = lo: linear(t -> 2);
        energy = euclidean(out, y);
    }
}

/// bprop through every repeated read against finite differences (parameters, input, target),
/// the parameter gradients bit-identical with input gradients off and on; bbprop's `ddx` of the
/// state read twice is the documented sum of the reads' squares; a minibatch is the sum.
#[test]
fn a_state_read_twice_by_one_module() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut net = Repeated::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        for round in 0..4 {
            let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
            net.set_input_grads(false);
            let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
            assert!(report.passes(TOL), "seed {seed} round {round}:\n{report}");
            net.zero_grad();
            net.try_fprop(&x, &y).unwrap();
            net.bprop();
            let off = bits(net.grads());
            let ndx = numeric(&mut |v| net.try_fprop(v, &y).unwrap(), &x);
            let ndy = numeric(&mut |v| net.try_fprop(&x, v).unwrap(), &y);
            net.set_input_grads(true);
            net.zero_grad();
            net.try_fprop(&x, &y).unwrap();
            net.bprop();
            assert_eq!(bits(net.grads()), off, "parameter gradients differ on/off");
            assert_close("dE/dx", &net.x.dx, &ndx);
            assert_close("dE/dy", &net.y.dx, &ndy);
            // sub(a, a) is 0 and its derivative to `a` exactly 0: `a`'s dx is the other reads'.
            assert_eq!(net.s.x, [0.0; 4]);
            // The documented bbprop rule: each read's Jacobian squared, summed.
            net.zero_curvature();
            net.bbprop();
            for i in 0..4 {
                let a = net.a.x[i];
                let want = 2.0 * net.s.ddx[i]
                    + 2.0 * a * a * net.m.ddx[i]
                    + net.c.ddx[i]
                    + net.c.ddx[4 + i]
                    + 2.0 * net.d.ddx[i];
                assert!(
                    (net.a.ddx[i] - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "a.ddx[{i}] = {} vs {want}",
                    net.a.ddx[i]
                );
            }
        }
        let (xs, ys) = (rows::<3>(5, &mut rng), rows::<2>(5, &mut rng));
        common::batch_is_the_sum!(net, xs, ys, 6);
    }
}

network! {
    /// `concat(a, a)` straight into the output layer: the Gauss–Newton diagonal of `la` is not
    /// exact (two paths), but the documented rule is `dda = ddc[..3] + ddc[3..]`.
    #[bpnet(float = f64)]
    struct ConcatTwice {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 3);
        c      = concat(a, a);
        out    = lo: linear(c -> 2);
        energy = euclidean(out, y);
    }
}

/// `lo`'s curvature is exact (one path from each weight): against `diag(JᵀJ)`; `a.ddx` is the
/// sum of its two parts' `ddx`.
#[test]
fn concat_of_a_state_with_itself() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut net = ConcatTwice::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    for _ in 0..3 {
        let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
        let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
        assert!(report.passes(TOL), "{report}");
        let p = net.params().to_vec();
        let j = param_jacobian(&p, |v| {
            net.params_mut().copy_from_slice(v);
            net.try_fprop(&x, &y).unwrap();
            net.out.x.to_vec()
        });
        net.params_mut().copy_from_slice(&p);
        let gn = gn_diag(&j, p.len());
        net.try_fprop(&x, &y).unwrap();
        net.zero_curvature();
        net.bbprop();
        let lo = ConcatTwice::LA_LEN..ConcatTwice::PARAMS;
        assert_close("lo curvature", &net.curvature()[lo.clone()], &gn[lo]);
        for i in 0..3 {
            let want = net.c.ddx[i] + net.c.ddx[3 + i];
            assert!((net.a.ddx[i] - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs and targets read directly by the new kinds.

network! {
    /// An input read by `slice`, `concat` and `scale`, targets read by `sub` and `mul`.
    #[bpnet(float = f64)]
    struct Direct {
        input  x: 4;
        target y: 2;
        target w: 2;
        target z: 2;
        xs     = slice(x, from = 1, to = 3);
        c      = concat(xs, x);
        a      = la: linear(c -> 2, bias = true);
        r      = softplus(a);
        xh     = scale(xs, by = 0.5);
        output q = add(r, xh);
        d      = sub(q, y);
        g      = mul(d, w);
        energy = euclidean(g, z);
    }
}

#[test]
fn inputs_and_targets_read_by_new_kinds() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(20 + seed);
        let mut net = Direct::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        for round in 0..4 {
            let (x, y, w, z) = (
                sample(4, &mut rng),
                sample(2, &mut rng),
                sample(2, &mut rng),
                sample(2, &mut rng),
            );
            net.set_input_grads(false);
            let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y, &w, &z).unwrap());
            assert!(report.passes(TOL), "seed {seed} round {round}:\n{report}");
            net.zero_grad();
            net.try_fprop(&x, &y, &w, &z).unwrap();
            net.bprop();
            let off = bits(net.grads());
            let ndx = numeric(&mut |v| net.try_fprop(v, &y, &w, &z).unwrap(), &x);
            let ndy = numeric(&mut |v| net.try_fprop(&x, v, &w, &z).unwrap(), &y);
            let ndw = numeric(&mut |v| net.try_fprop(&x, &y, v, &z).unwrap(), &w);
            let ndz = numeric(&mut |v| net.try_fprop(&x, &y, &w, v).unwrap(), &z);
            net.set_input_grads(true);
            net.zero_grad();
            net.try_fprop(&x, &y, &w, &z).unwrap();
            net.bprop();
            assert_eq!(bits(net.grads()), off, "parameter gradients differ on/off");
            assert_close("dE/dx", &net.x.dx, &ndx);
            assert_close("dE/dy", &net.y.dx, &ndy);
            assert_close("dE/dw", &net.w.dx, &ndw);
            assert_close("dE/dz", &net.z.dx, &ndz);
            // Twice with input gradients on: nothing accumulates across calls.
            net.bprop();
            assert_close("dE/dx again", &net.x.dx, &ndx);
            assert_close("dE/dy again", &net.y.dx, &ndy);
        }
        // Minibatch: energies and gradients are the sums, input dx per row too.
        let xs = rows::<4>(5, &mut rng);
        let (ys, ws, zs) = (
            rows::<2>(5, &mut rng),
            rows::<2>(5, &mut rng),
            rows::<2>(5, &mut rng),
        );
        net.set_input_grads(true);
        net.zero_grad();
        let mut e = 0.0;
        let mut dxs = Vec::new();
        for i in 0..5 {
            e += net.fprop(&xs[i], &ys[i], &ws[i], &zs[i]);
            net.bprop();
            dxs.push(net.x.dx);
        }
        let grads = net.grads().to_vec();
        net.reserve_batch(5).unwrap();
        net.zero_grad();
        let eb = net.fprop_batch(&xs, &ys, &ws, &zs).unwrap();
        net.bprop_batch();
        assert!(close(&[eb], &[e]));
        assert!(close(net.grads(), &grads));
        for (i, (row, dx)) in net.batch().x.dx.iter().zip(&dxs).enumerate() {
            assert!(close(row, dx), "row {i}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Energies of several terms; bbprop where the Gauss–Newton diagonal is exact.

network! {
    /// Two distances added, one branch through `softplus` and `scale`, the other through
    /// `leaky_relu`: each parameter reaches each output by one path.
    #[bpnet(float = f64)]
    struct TwoTerms {
        input  x: 3;
        target y: 2;
        target v: 2;
        a      = la: linear(x -> 4, bias = true);
        h      = leaky_relu(a, slope = 0.1);
        output out = lo: linear(h -> 2);
        b      = lb: linear(x -> 3);
        g      = softplus(b);
        sg     = scale(g, by = -2.0);
        out2   = lp: linear(sg -> 2, bias = true);
        e1     = euclidean(out, y);
        e2     = euclidean(out2, v);
        energy = add(e1, e2);
    }
}

#[test]
fn bbprop_of_two_added_distances_is_the_gauss_newton_diagonal() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(30 + seed);
        let mut net = TwoTerms::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        for _ in 0..3 {
            let (x, y, v) = (
                sample(3, &mut rng),
                sample(2, &mut rng),
                sample(2, &mut rng),
            );
            let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y, &v).unwrap());
            assert!(report.passes(TOL), "{report}");
            let p = net.params().to_vec();
            let j = param_jacobian(&p, |q| {
                net.params_mut().copy_from_slice(q);
                net.try_fprop(&x, &y, &v).unwrap();
                let mut o = net.out.x.to_vec();
                o.extend(net.out2.x);
                o
            });
            net.params_mut().copy_from_slice(&p);
            let gn = gn_diag(&j, p.len());
            net.try_fprop(&x, &y, &v).unwrap();
            net.zero_curvature();
            net.bbprop();
            assert_close("bbprop", net.curvature(), &gn);
        }
        let xs = rows::<3>(4, &mut rng);
        let (ys, vs) = (rows::<2>(4, &mut rng), rows::<2>(4, &mut rng));
        common::batch_is_the_sum!(
            net,
            4,
            |i| net.fprop(&xs[i], &ys[i], &vs[i]),
            net.fprop_batch(&xs, &ys, &vs)
        );
    }
}

network! {
    /// Half the squared distance, the way a mean is taken: `energy = scale(e, by = 0.5)`.
    #[bpnet(float = f64)]
    struct Halved {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4, bias = true);
        h      = tanh(a, bias = false);
        output out = lo: linear(h -> 2);
        e      = euclidean(out, y);
        energy = scale(e, by = 0.5);
    }
}

/// The energy is `0.5 · ½‖out − y‖²`; its Gauss–Newton diagonal is `0.5 · diag(JᵀJ)` (exact
/// here: each hidden unit reaches each output by one path). `scale` is linear: as part of the
/// energy it passes the energy's weight back with its coefficient `c`, not `c²` (found by this
/// review: it used to clear the seed and give zeros).
#[test]
fn bbprop_of_a_scaled_distance() {
    let mut rng = StdRng::seed_from_u64(40);
    let mut net = Halved::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
    let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
    assert!(report.passes(TOL), "{report}");
    let p = net.params().to_vec();
    let j = param_jacobian(&p, |q| {
        net.params_mut().copy_from_slice(q);
        net.try_fprop(&x, &y).unwrap();
        net.out.x.to_vec()
    });
    net.params_mut().copy_from_slice(&p);
    let gn: Vec<f64> = gn_diag(&j, p.len()).iter().map(|g| 0.5 * g).collect();
    net.try_fprop(&x, &y).unwrap();
    net.zero_curvature();
    net.bbprop();
    assert_close("bbprop", net.curvature(), &gn);
}

/// The gradients of the scaled energy are right.
#[test]
fn gradients_of_a_scaled_distance() {
    let mut rng = StdRng::seed_from_u64(41);
    let mut net = Halved::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    for _ in 0..3 {
        let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
        let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
        assert!(report.passes(TOL), "{report}");
    }
}

network! {
    /// An energy that is a difference of distances: `E = ½‖a − y‖² − ½‖b − y‖²`, two linear maps
    /// of one input.
    #[bpnet(float = f64)]
    struct Difference {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 2);
        b      = lb: linear(x -> 2);
        ea     = euclidean(a, y);
        eb     = euclidean(b, y);
        energy = sub(ea, eb);
    }
}

/// The Gauss–Newton diagonal of a difference of terms is the difference of theirs:
/// `diag(JaᵀJa)` for `la`'s weights, `−diag(JbᵀJb)` for `lb`'s (exact: linear maps), which
/// bbprop gives through `sub`'s first-order coefficients (+1, −1).
#[test]
fn bbprop_of_a_difference_of_distances() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut net = Difference::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
    let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
    assert!(report.passes(TOL), "{report}");
    let p = net.params().to_vec();
    let j = param_jacobian(&p, |q| {
        net.params_mut().copy_from_slice(q);
        net.try_fprop(&x, &y).unwrap();
        [net.a.x, net.b.x].concat()
    });
    net.params_mut().copy_from_slice(&p);
    // Rows 0..2 are a's outputs (weight +1 in the energy), rows 2..4 b's (weight −1).
    let gn: Vec<f64> = (0..p.len())
        .map(|k| {
            (0..4)
                .map(|o| j[o][k] * j[o][k] * if o < 2 { 1.0 } else { -1.0 })
                .sum()
        })
        .collect();
    net.try_fprop(&x, &y).unwrap();
    net.zero_curvature();
    net.bbprop();
    assert_close("bbprop", net.curvature(), &gn);
    assert!(net.curvature()[6..].iter().all(|&c| c < 0.0));
}

// ---------------------------------------------------------------------------------------------
// Delayed reads and self-reads inside `unfold`.

macro_rules! delayed {
    ($name:ident, $($attr:tt)*) => {
        network! {
            /// `mul(x, …h[t − 1])`, `concat(x, h[t − 2])`, `slice(h[t − 1], …)`, and modules
            /// reading their own earlier output (`scale(p[t − 1])`, `mul(x, m[t − 1])`), every
            /// delayed state with a learned initial value.
            $($attr)*
            struct $name {
                unfold 5 {
                    input  x: 2;
                    target y: 2;
                    hs     = slice(h[t - 1], from = 1, to = 3);
                    g      = mul(x, hs);
                    k      = concat(x, h[t - 2]);
                    u      = la: linear(k -> 3, bias = true);
                    p: 2   = scale(p[t - 1], by = 0.5);
                    m: 2   = mul(x, m[t - 1]);
                    n      = add(g, p, m);
                    v      = lv: linear(n -> 3);
                    z      = add(u, v);
                    h      = tanh(z, bias = false);
                    o      = lo: linear(h -> 2);
                    e      = euclidean(o, y);
                }
                initial h = learned;
                initial p = learned;
                initial m = learned;
                energy = sum(e);
            }
        }
    };
}

delayed!(Delayed, #[bpnet(float = f64)]);
delayed!(Delayed32,);

/// Random parameters and initial values; the learned `m` near ±1 so that it does not vanish.
fn delayed_net(seed: u64) -> (Delayed, StdRng) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = Delayed::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    (net, rng)
}

#[test]
fn delayed_reads_and_self_reads_through_time() {
    for seed in 0..3 {
        let (mut net, mut rng) = delayed_net(50 + seed);
        for len in [5, 3, 1] {
            let (xs, ys) = (rows::<2>(len, &mut rng), rows::<2>(len, &mut rng));
            common::check_through_time!(net, xs, ys, 2);
            // The parameter gradients bit-identical with input gradients off and on.
            net.set_input_grads(false);
            net.zero_grad();
            net.fprop(&xs, &ys).unwrap();
            net.bprop();
            let off = bits(net.grads());
            net.set_input_grads(true);
            net.zero_grad();
            net.bprop();
            assert_eq!(bits(net.grads()), off, "len {len}");
            // p is the initial value halved at every step.
            let p0 = net.p.initial(1).x;
            for t in 0..len {
                let f = 0.5f64.powi(t as i32 + 1);
                assert!((net.p[t].x[0] - f * p0[0]).abs() < 1e-15);
            }
        }
        let xs: Vec<Vec<[f64; 2]>> = (0..4).map(|_| rows::<2>(5, &mut rng)).collect();
        let ys: Vec<Vec<[f64; 2]>> = (0..4).map(|_| rows::<2>(5, &mut rng)).collect();
        common::batch_is_the_sum!(net, xs, ys, 4, seq);
    }
}

/// Truncated back-propagation through time: the gradient of a continued call is the derivative
/// of its energy with the carried-over states held fixed (the parameters perturbed in the second
/// call only), and the learned initial values get none of it.
#[test]
fn continued_calls_with_new_kinds() {
    for seed in 0..2 {
        let (mut net, mut rng) = delayed_net(60 + seed);
        let (xs1, ys1) = (rows::<2>(4, &mut rng), rows::<2>(4, &mut rng));
        let (xs2, ys2) = (rows::<2>(3, &mut rng), rows::<2>(3, &mut rng));
        let p = net.params().to_vec();
        let mut chunked = |q: &[f64]| {
            net.params_mut().copy_from_slice(&p);
            net.fprop(&xs1, &ys1).unwrap();
            net.params_mut().copy_from_slice(q);
            net.fprop_continued(&xs2, &ys2).unwrap()
        };
        let nd = numeric(&mut chunked, &p);
        chunked(&p);
        net.zero_grad();
        net.bprop();
        assert_close("continued", net.grads(), &nd);
        // The initial values' slices of the pool (after the modules) get nothing.
        let first = Delayed::LA_LEN + Delayed::LV_LEN + Delayed::LO_LEN;
        assert!(net.grads()[first..].iter().all(|g| *g == 0.0));
        // The energies of the chunks add up to the whole sequence's.
        let whole_x: Vec<[f64; 2]> = xs1.iter().chain(&xs2).copied().collect();
        let whole_y: Vec<[f64; 2]> = ys1.iter().chain(&ys2).copied().collect();
        let whole = net.fprop(&whole_x[..5], &whole_y[..5]).unwrap();
        let a = net.fprop(&xs1, &ys1).unwrap();
        let b = net.fprop_continued(&whole_x[4..5], &whole_y[4..5]).unwrap();
        assert!((a + b - whole).abs() < 1e-12 * whole.abs().max(1.0));

        // A continued minibatch is the sum of its sequences' continued calls.
        let xs1: Vec<Vec<[f64; 2]>> = (0..3).map(|_| rows::<2>(4, &mut rng)).collect();
        let ys1: Vec<Vec<[f64; 2]>> = (0..3).map(|_| rows::<2>(4, &mut rng)).collect();
        let xs2: Vec<Vec<[f64; 2]>> = (0..3).map(|_| rows::<2>(2, &mut rng)).collect();
        let ys2: Vec<Vec<[f64; 2]>> = (0..3).map(|_| rows::<2>(2, &mut rng)).collect();
        net.zero_grad();
        net.zero_curvature();
        let mut e = 0.0;
        for i in 0..3 {
            net.fprop(&xs1[i], &ys1[i]).unwrap();
            e += net.fprop_continued(&xs2[i], &ys2[i]).unwrap();
            net.bprop();
            net.bbprop();
        }
        let (g, c) = (net.grads().to_vec(), net.curvature().to_vec());
        net.reserve_batch(3).unwrap();
        net.zero_grad();
        net.zero_curvature();
        net.fprop_batch(&xs1, &ys1).unwrap();
        let eb = net.fprop_batch_continued(&xs2, &ys2).unwrap();
        net.bprop_batch();
        net.bbprop_batch();
        assert!(close(&[eb], &[e]), "{eb} vs {e}");
        assert!(close(net.grads(), &g), "{:?}\nvs\n{g:?}", net.grads());
        assert!(close(net.curvature(), &c));
    }
}

/// The f32 network computes what the f64 one does.
#[test]
fn delayed_reads_in_f32() {
    let (n64, mut rng) = delayed_net(70);
    let mut n64 = n64;
    let mut n32 = Delayed32::new(&mut rng);
    for (a, b) in n32.params_mut().iter_mut().zip(n64.params()) {
        *a = *b as f32;
    }
    for len in [5, 2] {
        let (xs, ys) = (rows::<2>(len, &mut rng), rows::<2>(len, &mut rng));
        let xs32: Vec<[f32; 2]> = xs.iter().map(|r| r.map(|v| v as f32)).collect();
        let ys32: Vec<[f32; 2]> = ys.iter().map(|r| r.map(|v| v as f32)).collect();
        let e64 = n64.fprop(&xs, &ys).unwrap();
        let e32 = n32.fprop(&xs32, &ys32).unwrap();
        n64.zero_grad();
        n32.zero_grad();
        n64.bprop();
        n32.bprop();
        assert!(
            (e64 - f64::from(e32)).abs() <= 1e-4 * e64.abs().max(1.0),
            "{e64} vs {e32}"
        );
        for (g32, g64) in n32.grads().iter().zip(n64.grads()) {
            assert!(
                (f64::from(*g32) - g64).abs() <= 1e-4 * g64.abs().max(1.0),
                "{g32} vs {g64}"
            );
        }
    }
}

network! {
    /// New kinds after `last` and `sum`, with an input given once per sequence.
    #[bpnet(float = f64)]
    struct Gathered {
        unfold 4 {
            input  x: 2;
            a      = la: linear(x -> 3, bias = true);
            b      = lb: linear(h[t - 1] -> 3);
            z      = add(a, b);
            h      = tanh(z, bias = false);
            sp     = softplus(h);
        }
        input  u: 2;
        target y: 2;
        hl     = last(h);
        hsum   = sum(sp);
        k      = sub(hl, hsum);
        hs     = slice(k, from = 1, to = 3);
        g      = mul(hs, u);
        c      = concat(g, u);
        output out = lo: linear(c -> 2, bias = true);
        energy = euclidean(out, y);
    }
}

#[test]
fn new_kinds_after_last_and_sum() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(80 + seed);
        let mut net = Gathered::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        for len in [4, 2] {
            let (xs, u, y) = (
                rows::<2>(len, &mut rng),
                rows::<2>(1, &mut rng)[0],
                rows::<2>(1, &mut rng)[0],
            );
            net.set_input_grads(false);
            let report = check_gradients(&mut net, |n| n.fprop(&xs, &u, &y).unwrap());
            assert!(report.passes(TOL), "len {len}:\n{report}");
            net.zero_grad();
            net.fprop(&xs, &u, &y).unwrap();
            net.bprop();
            let off = bits(net.grads());
            let flat: Vec<f64> = xs.iter().flatten().copied().collect();
            let ndx = numeric(
                &mut |v| {
                    let xs: Vec<[f64; 2]> = v.chunks(2).map(|c| c.try_into().unwrap()).collect();
                    net.fprop(&xs, &u, &y).unwrap()
                },
                &flat,
            );
            let ndu = numeric(
                &mut |v| net.fprop(&xs, &v.try_into().unwrap(), &y).unwrap(),
                &u,
            );
            let ndy = numeric(
                &mut |v| net.fprop(&xs, &u, &v.try_into().unwrap()).unwrap(),
                &y,
            );
            net.set_input_grads(true);
            net.zero_grad();
            net.fprop(&xs, &u, &y).unwrap();
            net.bprop();
            assert_eq!(bits(net.grads()), off);
            let dx: Vec<f64> = (0..len).flat_map(|t| net.x[t].dx).collect();
            assert_close("dE/dx", &dx, &ndx);
            assert_close("dE/du", &net.u.dx, &ndu);
            assert_close("dE/dy", &net.y.dx, &ndy);
        }
        let xs: Vec<Vec<[f64; 2]>> = (0..3).map(|_| rows::<2>(4, &mut rng)).collect();
        let (us, ys) = (rows::<2>(3, &mut rng), rows::<2>(3, &mut rng));
        common::batch_is_the_sum!(
            net,
            3,
            |i| net.fprop(&xs[i], &us[i], &ys[i]).unwrap(),
            net.fprop_batch(&xs, &us, &ys)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Nested networks and user modules next to the new kinds.

network! {
    /// A module network made of new kinds: an affine map, a leaky ReLU and a slice of a concat.
    #[bpnet(float = f64)]
    pub struct Layer {
        input  x: 3;
        a      = la: linear(x -> 4, bias = true);
        r      = softplus(a);
        c      = concat(r, x);
        output h = slice(c, from = 1, to = 6);
    }
}

network! {
    /// `Layer` as a module, a user module beside `mul`, and an affine output layer.
    #[bpnet(float = f64)]
    struct NestedOuter {
        input  x: 3;
        target y: 2;
        h: 5   = layer: Layer(x);
        hs     = slice(h, from = 0, to = 4);
        q: 4   = sq: common::Square(hs);
        m      = mul(q, hs);
        out    = lo: linear(m -> 2, bias = true);
        energy = euclidean(out, y);
    }
}

network! {
    /// `Layer` as a module straight into an output layer (each unit reaches each output by one
    /// path: the Gauss–Newton diagonal is exact).
    #[bpnet(float = f64)]
    struct NestedExact {
        input  x: 3;
        target y: 2;
        h: 5   = layer: Layer(x);
        out    = lo: linear(h -> 2, bias = true);
        energy = euclidean(out, y);
    }
}

#[test]
fn nested_network_of_new_kinds_with_a_user_module() {
    let mut rng = StdRng::seed_from_u64(90);
    let mut net = NestedOuter::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    for round in 0..3 {
        let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
        net.set_input_grads(false);
        let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
        assert!(report.passes(TOL), "round {round}:\n{report}");
        net.zero_grad();
        net.try_fprop(&x, &y).unwrap();
        net.bprop();
        let off = bits(net.grads());
        let ndx = numeric(&mut |v| net.try_fprop(v, &y).unwrap(), &x);
        net.set_input_grads(true);
        net.zero_grad();
        net.try_fprop(&x, &y).unwrap();
        net.bprop();
        assert_eq!(bits(net.grads()), off);
        assert_close("dE/dx", &net.x.dx, &ndx);
    }
    // A minibatch is the sum of its samples (the user module keeps one input per row).
    let (xs, ys) = (rows::<3>(4, &mut rng), rows::<2>(4, &mut rng));
    net.set_input_grads(false);
    net.zero_grad();
    let mut e = 0.0;
    for i in 0..4 {
        e += net.fprop(&xs[i], &ys[i]);
        net.bprop();
    }
    let g = net.grads().to_vec();
    net.reserve_batch(4).unwrap();
    net.zero_grad();
    let eb = net.fprop_batch(&xs, &ys).unwrap();
    net.bprop_batch();
    assert!(close(&[eb], &[e]) && close(net.grads(), &g));

    // Saved under the module paths, the inner affine map as `layer.la.weight` / `.bias`.
    let names: Vec<(String, Vec<usize>)> =
        bpnet::io::param_tensors(NestedOuter::MODULES, NestedOuter::STATES)
            .into_iter()
            .map(|t| (t.name, t.shape))
            .collect();
    assert!(
        names.contains(&("layer.la.weight".to_string(), vec![4, 3])),
        "{names:?}"
    );
    assert!(
        names.contains(&("layer.la.bias".to_string(), vec![4])),
        "{names:?}"
    );
    assert!(
        names.contains(&("lo.bias".to_string(), vec![2])),
        "{names:?}"
    );
    let path =
        std::env::temp_dir().join(format!("bpnet-review-{}.safetensors", std::process::id()));
    bpnet::io::save(&path, &net, &[], &[]).unwrap();
    let file = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&file).unwrap();
    let read = |name: &str| -> Vec<f64> {
        st.tensor(name)
            .unwrap()
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    assert_eq!(
        bits(&read("layer.la.weight")),
        bits(&net.layer_params()[..12])
    );
    assert_eq!(
        bits(&read("layer.la.bias")),
        bits(&net.layer_params()[12..16])
    );
    let mut again = NestedOuter::new(&mut StdRng::seed_from_u64(91));
    bpnet::io::load(&path, &mut again).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(bits(again.params()), bits(net.params()));
    let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
    assert_eq!(
        again.try_fprop(&x, &y).unwrap().to_bits(),
        net.try_fprop(&x, &y).unwrap().to_bits()
    );
}

#[test]
fn bbprop_through_a_nested_network_of_new_kinds() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(95 + seed);
        let mut net = NestedExact::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
        let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
        assert!(report.passes(TOL), "{report}");
        let p = net.params().to_vec();
        let j = param_jacobian(&p, |q| {
            net.params_mut().copy_from_slice(q);
            net.try_fprop(&x, &y).unwrap();
            net.out.x.to_vec()
        });
        net.params_mut().copy_from_slice(&p);
        let gn = gn_diag(&j, p.len());
        net.try_fprop(&x, &y).unwrap();
        net.zero_curvature();
        net.bbprop();
        assert_close("bbprop", net.curvature(), &gn);
        let (xs, ys) = (rows::<3>(4, &mut rng), rows::<2>(4, &mut rng));
        common::batch_is_the_sum!(net, xs, ys, 4);
    }
}
