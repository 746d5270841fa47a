//! Networks unfolded in time: back-propagation through time against central differences (f64,
//! relative tolerance 1e-6), against a hand-written Elman network, and the run-time behaviour of
//! sequences (shorter than T, too long, continued in chunks).

use bpnet::prelude::*;

mod common;

use common::{Square, TOL, assert_close, bits, numeric, rows as seq};

network! {
    /// The Elman network: the hidden state at t reads the hidden state at t − 1.
    #[bpnet(float = f64)]
    pub struct Elman {
        unfold 6 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            out    = to: tanh(o);
            e      = euclidean(out, y);
        }
        energy = sum(e);
    }
}

network! {
    /// Two recurrent layers stacked; the upper one also feeds back into the lower one through
    /// a delay ("any connection").
    #[bpnet(float = f64)]
    pub struct Stacked {
        unfold 5 {
            input  x: 2;
            target y: 2;
            a1     = in1: linear(x -> 3);
            r1     = rec1: linear(h1[t - 1] -> 3);
            f1     = back: linear(h2[t - 1] -> 3);
            s1     = add(a1, r1, f1);
            h1     = t1: tanh(s1);
            a2     = in2: linear(h1 -> 3);
            r2     = rec2: linear(h2[t - 1] -> 3);
            s2     = add(a2, r2);
            h2     = t2: tanh(s2);
            o      = out_l: linear(h2 -> 2);
            out    = out_t: tanh(o);
            e      = euclidean(out, y);
        }
        energy = sum(e);
    }
}

network! {
    /// A delay of two steps, next to a delay of one.
    #[bpnet(float = f64)]
    pub struct DelayTwo {
        unfold 7 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 3);
            c1     = w1: linear(h[t - 1] -> 3);
            c2     = w2: linear(h[t - 2] -> 3);
            a      = add(s, c1, c2);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = [0.1, -0.2, 0.3];
        energy = sum(e);
    }
}

network! {
    /// A learned initial hidden state.
    #[bpnet(float = f64)]
    pub struct Learned {
        unfold 4 {
            input  x: 2;
            target y: 2;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 2);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

network! {
    /// Sequence classification: the energy on the last step only, through a static classifier
    /// reading the last hidden state, against a target given once per sequence.
    #[bpnet(float = f64)]
    pub struct LastStep {
        target label: 2;
        unfold 5 {
            input  x: 3;
            s      = wx: linear(x -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            a      = add(s, c);
            h      = th: tanh(a);
        }
        z      = last(h);
        o      = wo: linear(z -> 2);
        out    = to: tanh(o);
        energy = euclidean(out, label);
    }
}

network! {
    /// nn-layer, a module network, used inside an unfolded one.
    #[bpnet(float = f64)]
    pub struct Layer {
        input  input: 4;
        sum    = linear: linear(input -> 4);
        output output = sigmoid: tanh(sum);
    }
}

network! {
    /// A nested network on the delayed state and a user module at every step.
    #[bpnet(float = f64)]
    pub struct WithModules {
        unfold 5 {
            input  x: 2;
            target y: 4;
            s      = wx: linear(x -> 4);
            c: 4   = rec: Layer(h[t - 1]);
            a      = add(s, c);
            q: 4   = square: Square(a);
            h      = th: tanh(q);
            e      = euclidean(h, y);
        }
        energy = sum(e);
    }
}

network! {
    /// Chosen steps only: the first two and the steps from 4 on (a warm-up in between).
    #[bpnet(float = f64)]
    pub struct ChosenSteps {
        unfold 6 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        early  = sum(e[..2]);
        late   = sum(e[4..]);
        energy = add(early, late);
    }
}

network! {
    /// Reads the input one and two steps back, and has a learned initial state read two steps
    /// back: continued calls must carry inputs too, and both history slots feed one gradient.
    #[bpnet(float = f64)]
    pub struct DelayedInput {
        unfold 5 {
            input  x: 2;
            target y: 1;
            a      = w0: linear(x -> 3);
            b      = w1: linear(x[t - 1] -> 3);
            c      = w2: linear(x[t - 2] -> 3);
            d      = wh: linear(h[t - 2] -> 3);
            s      = add(a, b, c, d);
            h      = th: tanh(s);
            output o = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial x = [0.25, -0.5];
        initial h = learned;
        energy = sum(e);
    }
}

network! {
    /// An input read one step back whose value before step 0 is learned: that value's gradient
    /// gathers the input's `dx`, so the input's derivative is computed with input gradients off
    /// too.
    #[bpnet(float = f64)]
    pub struct LearnedInput {
        unfold 4 {
            input  x: 2;
            target y: 1;
            a      = w0: linear(x -> 3);
            b      = w1: linear(x[t - 1] -> 3);
            s      = add(a, b);
            h      = th: tanh(s);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial x = learned;
        energy = sum(e);
    }
}

network! {
    /// A linear module reading its own output one step back, `h[t] = W h[t − 1]`, from a given
    /// initial value, beside the input's path.
    #[bpnet(float = f64)]
    pub struct SelfLinear {
        unfold 5 {
            input  x: 2;
            target y: 3;
            h      = wh: linear(h[t - 1] -> 3);
            s      = wx: linear(x -> 3);
            a      = add(s, h);
            o      = th: tanh(a);
            e      = euclidean(o, y);
        }
        initial h = [0.5, -0.4, 0.3];
        energy = sum(e);
    }
}

network! {
    /// Tanh modules reading their own output one step back (a learned initial value) and two
    /// steps back (given initial values), the latter also read three steps back by another
    /// module.
    #[bpnet(float = f64)]
    pub struct SelfTanh {
        unfold 6 {
            input  x: 2;
            target y: 3;
            h: 3   = th: tanh(h[t - 1]);
            g: 3   = tg: tanh(g[t - 2]);
            s      = wx: linear(x -> 3);
            a      = add(s, h, g, g[t - 3]);
            e      = euclidean(a, y);
        }
        initial h = learned;
        initial g = [0.6, -0.2, 0.1];
        energy = sum(e);
    }
}

network! {
    /// An add module reading its own output one and two steps back: a running sum of the input's
    /// path, `h[t] = s[t] + h[t − 1] + h[t − 2]`; its output is what `run` returns.
    #[bpnet(float = f64)]
    pub struct SelfAdd {
        unfold 5 {
            input  x: 2;
            target y: 2;
            s      = wx: linear(x -> 2);
            h      = add(s, h[t - 1], h[t - 2]);
            output o = th: tanh(h);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

network! {
    /// A user module reading its own output two steps back, a nested network one step back, and
    /// a Euclidean module one step back (`d[t] = ½ (d[t − 1] − z[t])²`).
    #[bpnet(float = f64)]
    pub struct SelfModules {
        unfold 5 {
            input  x: 2;
            target y: 4;
            s      = wx: linear(x -> 4);
            q: 4   = square: Square(q[t - 2]);
            c: 4   = rec: Layer(c[t - 1]);
            a      = add(s, q, c);
            z      = wz: linear(a -> 1);
            d      = euclidean(d[t - 1], z);
            e      = euclidean(a, y);
        }
        initial q = [0.9, -0.8, 0.7, 0.6];
        initial c = learned;
        initial d = [0.25];
        fit    = sum(e);
        drift  = sum(d);
        energy = add(fit, drift);
    }
}

/// Parameters by `check_gradients` (input gradients off, the default), and dE/dx of every input at
/// every step by finite differences (input gradients on), for full-length and shorter sequences
/// in turn on one network. With a last argument `spread`, every parameter (learned initial values
/// included) is first drawn from `[−spread, spread)`.
macro_rules! check_seq {
    ($net:ty, $wx:literal, $wy:literal, $seed:expr $(, $spread:expr)?) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        $(
            for p in net.params_mut() {
                *p = rng.random_range(-$spread..$spread);
            }
        )?
        for len in [<$net>::STEPS, 2, <$net>::STEPS, 1] {
            let xs = seq::<$wx>(len, &mut rng);
            let ys = seq::<$wy>(len, &mut rng);
            net.set_input_grads(false);
            let report = check_gradients(&mut net, |n| n.fprop(&xs, &ys).unwrap());
            assert!(
                report.passes(TOL),
                "{} len {len}:\n{report}",
                stringify!($net)
            );
            let flat: Vec<f64> = xs.iter().flatten().copied().collect();
            let ndx = numeric(
                &mut |v| {
                    let xs: Vec<[f64; $wx]> =
                        v.chunks($wx).map(|c| c.try_into().unwrap()).collect();
                    net.fprop(&xs, &ys).unwrap()
                },
                &flat,
            );
            net.set_input_grads(true);
            net.fprop(&xs, &ys).unwrap();
            net.bprop();
            let dx: Vec<f64> = (0..len).flat_map(|t| net.x[t].dx).collect();
            assert_close(concat!(stringify!($net), " dE/dx"), &dx, &ndx);
        }
    }};
}

#[test]
fn elman_through_time() {
    check_seq!(Elman, 2, 1, 1);
}

#[test]
fn two_stacked_recurrent_layers_with_feedback() {
    check_seq!(Stacked, 2, 2, 2);
}

#[test]
fn a_delay_of_two() {
    check_seq!(DelayTwo, 1, 1, 3);
}

#[test]
fn user_and_nested_modules_at_every_step() {
    check_seq!(WithModules, 2, 4, 10);
    let net = WithModules::new(&mut StdRng::seed_from_u64(10));
    assert_eq!(net.rec.len(), 5);
    assert_eq!(net.square.len(), 5);
}

#[test]
fn energy_on_chosen_steps() {
    check_seq!(ChosenSteps, 2, 1, 11);
    let mut rng = StdRng::seed_from_u64(11);
    let mut net = ChosenSteps::new(&mut rng);
    for len in [6, 5, 3] {
        let (xs, ys) = (seq::<2>(len, &mut rng), seq::<1>(len, &mut rng));
        let e = net.fprop(&xs, &ys).unwrap();
        let want: f64 = (0..len)
            .filter(|t| !(2..4).contains(t))
            .map(|t| net.e[t].x[0])
            .sum();
        assert!((e - want).abs() < 1e-12, "len {len}: {e} vs {want}");
        // Steps outside the ranges get no derivative from the energy directly.
        net.bprop();
        if len > 2 {
            assert_eq!(net.e[2].dx, [0.0]);
        }
    }
}

#[test]
fn delayed_inputs_and_a_learned_state_two_steps_back() {
    check_seq!(DelayedInput, 2, 1, 12);
    let mut rng = StdRng::seed_from_u64(12);
    let mut net = DelayedInput::new(&mut rng);
    for p in net.h_initial_params_mut() {
        *p = rng.random_range(-1.0..1.0);
    }
    let (xs, ys) = (seq::<2>(5, &mut rng), seq::<1>(5, &mut rng));
    let report = check_gradients(&mut net, |n| n.fprop(&xs, &ys).unwrap());
    assert!(report.passes(TOL), "{report}");
    let whole: Vec<f64> = net.run(&xs).unwrap().iter().map(|v| v[0]).collect();
    let mut parts: Vec<f64> = net.run(&xs[..2]).unwrap().iter().map(|v| v[0]).collect();
    parts.extend(net.run_continued(&xs[2..]).unwrap().iter().map(|v| v[0]));
    assert_eq!(parts, whole);
    net.reset();
    let stepped: Vec<f64> = xs
        .iter()
        .map(|x| net.run_continued(std::slice::from_ref(x)).unwrap()[0][0])
        .collect();
    assert_eq!(stepped, whole);
}

#[test]
fn a_learned_initial_state() {
    check_seq!(Learned, 2, 2, 4);
    // Away from zero too: fprop must read the learned vector, and its gradient must be right.
    let mut rng = StdRng::seed_from_u64(13);
    let mut net = Learned::new(&mut rng);
    for p in net.h_initial_params_mut() {
        *p = rng.random_range(-1.0..1.0);
    }
    let (xs, ys) = (seq::<2>(4, &mut rng), seq::<2>(4, &mut rng));
    let report = check_gradients(&mut net, |n| n.fprop(&xs, &ys).unwrap());
    assert!(report.passes(TOL), "{report}");
    net.fprop(&xs, &ys).unwrap();
    assert_eq!(net.h.initial(1).x, net.h_initial_params());
    let net = Learned::new(&mut StdRng::seed_from_u64(4));
    assert_eq!(Learned::MODULES.last().unwrap().name, "h_initial");
    assert_eq!(net.h_initial_params(), &[0.0; 3]);
}

#[test]
fn energy_on_the_last_step_only() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = LastStep::new(&mut rng);
    for len in [5, 3, 1] {
        let xs = seq::<3>(len, &mut rng);
        let label = [0.5, -0.5];
        net.set_input_grads(false);
        let report = check_gradients(&mut net, |n| n.fprop(&label, &xs).unwrap());
        assert!(report.passes(TOL), "len {len}:\n{report}");
        // Only the last step's output reaches the energy: the input at every step still matters
        // (through h), and changing it moves the energy as bprop says.
        let flat: Vec<f64> = xs.iter().flatten().copied().collect();
        let ndx = numeric(
            &mut |v| {
                let xs: Vec<[f64; 3]> = v.chunks(3).map(|c| c.try_into().unwrap()).collect();
                net.fprop(&label, &xs).unwrap()
            },
            &flat,
        );
        net.set_input_grads(true);
        net.fprop(&label, &xs).unwrap();
        net.bprop();
        let dx: Vec<f64> = (0..len).flat_map(|t| net.x[t].dx).collect();
        assert_close("LastStep dE/dx", &dx, &ndx);
    }
}

/// Modules reading their own output at an earlier step (`h = …(h[t − k])`: linear, tanh, add, a
/// user module, a nested network, Euclidean; delays 1 and 2): back-propagation through time
/// against central differences (f64, relative tolerance `TOL` = 1e-6), from the networks' own
/// initial parameters and from random ones (learned initial values away from zero).
#[test]
fn modules_reading_their_own_earlier_output() {
    check_seq!(SelfLinear, 2, 3, 40);
    check_seq!(SelfLinear, 2, 3, 41, 0.8);
    check_seq!(SelfTanh, 2, 3, 42);
    check_seq!(SelfTanh, 2, 3, 43, 0.8);
    check_seq!(SelfAdd, 2, 2, 44);
    check_seq!(SelfAdd, 2, 2, 45, 0.5);
    check_seq!(SelfModules, 2, 4, 46);
    check_seq!(SelfModules, 2, 4, 47, 0.5);
}

/// What a module reading its own earlier output computes, step by step, and `run` (whole, in
/// chunks, step by step) agreeing with `fprop`.
#[test]
fn a_module_reading_its_own_earlier_output_computes_the_recurrence() {
    let mut rng = StdRng::seed_from_u64(48);
    let mut net = SelfAdd::new(&mut rng);
    for p in net.params_mut() {
        *p = rng.random_range(-0.5..0.5);
    }
    let (xs, ys) = (seq::<2>(5, &mut rng), seq::<2>(5, &mut rng));
    net.fprop(&xs, &ys).unwrap();
    let h0 = net.h_initial_params().to_vec();
    for t in 0..5 {
        let back = |k: usize| {
            if t >= k {
                net.h[t - k].x.to_vec()
            } else {
                h0.clone()
            }
        };
        let (one, two) = (back(1), back(2));
        for j in 0..2 {
            let want = net.s[t].x[j] + one[j] + two[j];
            assert!((net.h[t].x[j] - want).abs() < 1e-12, "h[{t}][{j}]");
        }
    }
    let fprop_out: Vec<[f64; 2]> = (0..5).map(|t| net.o[t].x).collect();
    let whole: Vec<[f64; 2]> = net.run(&xs).unwrap().to_vec();
    assert_eq!(whole, fprop_out);
    let mut parts: Vec<[f64; 2]> = net.run(&xs[..3]).unwrap().to_vec();
    parts.extend(net.run_continued(&xs[3..]).unwrap().iter().copied());
    assert_eq!(parts, whole);
    net.reset();
    let stepped: Vec<[f64; 2]> = xs
        .iter()
        .map(|x| net.run_continued(std::slice::from_ref(x)).unwrap()[0])
        .collect();
    assert_eq!(stepped, whole);

    let mut net = SelfLinear::new(&mut rng);
    let (xs, ys) = (seq::<2>(5, &mut rng), seq::<3>(5, &mut rng));
    net.fprop(&xs, &ys).unwrap();
    let w = net.wh_params().to_vec();
    let mut h = [0.5, -0.4, 0.3];
    for t in 0..5 {
        h = std::array::from_fn(|i| (0..3).map(|j| w[3 * i + j] * h[j]).sum());
        for (j, (got, want)) in net.h[t].x.iter().zip(h).enumerate() {
            assert!((got - want).abs() < 1e-12, "h[{t}][{j}]");
        }
    }

    let mut net = SelfModules::new(&mut rng);
    let (xs, ys) = (seq::<2>(5, &mut rng), seq::<4>(5, &mut rng));
    net.fprop(&xs, &ys).unwrap();
    let mut d = 0.25;
    for t in 0..5 {
        d = 0.5 * (d - net.z[t].x[0]).powi(2);
        assert!((net.d[t].x[0] - d).abs() < 1e-12, "d[{t}]");
    }
}

/// The Elman network written out by hand, step by step, from the same pool: the unfolded
/// network must give the same energy and the same gradients.
#[test]
fn unfolded_equals_hand_written() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = Elman::new(&mut rng);
    for p in net.params_mut() {
        *p = rng.random_range(-0.8..0.8);
    }
    let (xs, ys) = (seq::<2>(6, &mut rng), seq::<1>(6, &mut rng));
    let e = net.fprop(&xs, &ys).unwrap();
    net.zero_grad();
    net.bprop();

    let p = net.params().to_vec();
    let wx = &p[Elman::WX_OFFSET..Elman::WX_OFFSET + 8];
    let bh = &p[Elman::TH_OFFSET..Elman::TH_OFFSET + 4];
    let wh = &p[Elman::WH_OFFSET..Elman::WH_OFFSET + 16];
    let wo = &p[Elman::WO_OFFSET..Elman::WO_OFFSET + 4];
    let bo = p[Elman::TO_OFFSET];
    // Forward.
    let mut hs = [[0.0f64; 4]; 7]; // hs[t + 1] = h at step t, hs[0] = initial
    let mut outs = [0.0f64; 6];
    let mut energy = 0.0;
    for t in 0..6 {
        for i in 0..4 {
            let mut a = bh[i];
            for j in 0..2 {
                a += wx[i * 2 + j] * xs[t][j];
            }
            for j in 0..4 {
                a += wh[i * 4 + j] * hs[t][j];
            }
            hs[t + 1][i] = a.tanh();
        }
        let o: f64 = (0..4).map(|i| wo[i] * hs[t + 1][i]).sum::<f64>() + bo;
        outs[t] = o.tanh();
        energy += 0.5 * (outs[t] - ys[t][0]).powi(2);
    }
    assert!((e - energy).abs() < 1e-12, "{e} vs {energy}");
    // Backward through time.
    let (mut gwx, mut gbh, mut gwh, mut gwo, mut gbo) =
        ([0.0; 8], [0.0; 4], [0.0; 16], [0.0; 4], 0.0);
    let mut dh_next = [0.0f64; 4];
    for t in (0..6).rev() {
        let dout = outs[t] - ys[t][0];
        let dgo = dout * (1.0 - outs[t] * outs[t]);
        gbo += dgo;
        let mut dh = dh_next;
        for i in 0..4 {
            gwo[i] += dgo * hs[t + 1][i];
            dh[i] += dgo * wo[i];
        }
        let mut next = [0.0; 4];
        for i in 0..4 {
            let da = dh[i] * (1.0 - hs[t + 1][i] * hs[t + 1][i]);
            gbh[i] += da;
            for j in 0..2 {
                gwx[i * 2 + j] += da * xs[t][j];
            }
            for j in 0..4 {
                gwh[i * 4 + j] += da * hs[t][j];
                next[j] += da * wh[i * 4 + j];
            }
        }
        dh_next = next;
    }
    let g = net.grads();
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
    assert!(close(net.wx_grads(), &gwx), "{:?} {gwx:?}", net.wx_grads());
    assert!(close(net.th_grads(), &gbh));
    assert!(close(net.wh_grads(), &gwh));
    assert!(close(net.wo_grads(), &gwo));
    assert!((g[Elman::TO_OFFSET] - gbo).abs() < 1e-12);
}

#[test]
fn sequences_are_checked() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = Elman::new(&mut rng);
    let (xs, ys) = (seq::<2>(7, &mut rng), seq::<1>(7, &mut rng));
    assert_eq!(
        net.fprop(&xs, &ys),
        Err(Error::TooLong {
            input: "x",
            steps: 6,
            found: 7
        })
    );
    assert_eq!(
        net.fprop(&xs[..3], &ys[..2]),
        Err(Error::Length {
            input: "y",
            expected: 3,
            found: 2
        })
    );
    assert!(net.fprop(&xs[..0], &ys[..0]).is_err());
    // Flat data: whole steps only, no NaN.
    let flat: Vec<f64> = xs[..3].iter().flatten().copied().collect();
    let ys3: Vec<f64> = ys[..3].iter().flatten().copied().collect();
    assert_eq!(
        net.try_fprop(&flat[..5], &ys3),
        Err(Error::Width {
            input: "x",
            expected: 2,
            found: 5
        })
    );
    let e = net.try_fprop(&flat, &ys3).unwrap();
    assert_eq!(e, net.fprop(&xs[..3], &ys[..3]).unwrap());
    let mut bad = flat.clone();
    bad[4] = f64::NAN;
    assert_eq!(
        net.try_fprop(&bad, &ys3),
        Err(Error::NonFinite {
            input: "x",
            index: 4
        })
    );
}

/// A long sequence run in chunks (`run_continued`) or step by step gives the outputs of one run
/// over the whole sequence; `fprop_continued` starts where the previous call ended.
#[test]
fn chunks_and_steps_continue_the_sequence() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut net = Elman::new(&mut rng);
    let xs = seq::<2>(6, &mut rng);
    let whole: Vec<f64> = net.run(&xs).unwrap().iter().map(|v| v[0]).collect();
    assert_eq!(whole.len(), 6);

    let mut chunked = Vec::new();
    chunked.extend(net.run(&xs[..4]).unwrap().iter().map(|v| v[0]));
    chunked.extend(net.run_continued(&xs[4..]).unwrap().iter().map(|v| v[0]));
    assert_eq!(chunked, whole);

    // After reset, every call can be a continued one.
    net.reset();
    let mut stepped = Vec::new();
    for x in &xs {
        stepped.push(net.run_continued(std::slice::from_ref(x)).unwrap()[0][0]);
    }
    assert_eq!(stepped, whole);

    // Training in chunks of T: the second chunk starts from the first chunk's last state, so it
    // differs from the same chunk started afresh.
    let ys = seq::<1>(6, &mut rng);
    net.fprop(&xs[..3], &ys[..3]).unwrap();
    let continued = net.fprop_continued(&xs[3..], &ys[3..]).unwrap();
    let fresh = net.fprop(&xs[3..], &ys[3..]).unwrap();
    assert_ne!(continued, fresh);
    let full = net.fprop(&xs, &ys).unwrap();
    net.fprop(&xs[..3], &ys[..3]).unwrap();
    let first = net.energy();
    let second = net.fprop_continued(&xs[3..], &ys[3..]).unwrap();
    assert!((first + second - full).abs() < 1e-12);
}

#[test]
fn states_are_reachable_by_name_and_step() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut net = Elman::new(&mut rng);
    let (xs, ys) = (seq::<2>(6, &mut rng), seq::<1>(6, &mut rng));
    net.fprop(&xs, &ys).unwrap();
    assert_eq!(net.h.len(), 6);
    assert_eq!(net.x[3].x, xs[3]);
    let e: f64 = (0..6).map(|t| net.e[t].x[0]).sum();
    assert!((e - net.energy()).abs() < 1e-12);
    assert_eq!(net.h.initial(1).x, [0.0; 4]);
    assert_eq!(net.steps_run(), 6);
    // The delayed connection is drawn dashed, with its delay.
    assert!(Elman::DOT.contains("\"s_h\" -> \"m_wh\" [style=dashed, label=\"t-1\"];"));
    assert!(DelayTwo::DOT.contains("\"s_h\" -> \"m_w2\" [style=dashed, label=\"t-2\"];"));
}

/// Back-propagation through time with input gradients off (the default) and on, from the same
/// fprop: the parameter gradients must be bit for bit the same. `fprop(net, len, continued, rng)`
/// runs a random sequence of `len` steps, continuing the previous call if `continued`.
fn same_params_either_way<N: Network<Float = f64>>(
    name: &str,
    net: &mut N,
    steps: usize,
    rng: &mut StdRng,
    mut fprop: impl FnMut(&mut N, usize, bool, &mut StdRng),
) {
    assert!(!net.input_grads());
    for p in net.params_mut() {
        *p = rng.random_range(-0.8..0.8);
    }
    for (round, len) in [steps, 2, steps, 1].into_iter().enumerate() {
        fprop(net, len, round == 2, rng);
        net.set_input_grads(round % 2 == 1);
        net.zero_grad();
        net.bprop();
        let first = bits(net.grads());
        net.set_input_grads(round % 2 == 0);
        net.zero_grad();
        net.bprop();
        assert_eq!(bits(net.grads()), first, "{name} round {round}");
    }
}

/// [`same_params_either_way`] for a network whose fprop takes a per-step input and target.
macro_rules! same_params_through_time {
    ($net:ident, $wx:literal, $wy:literal, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = $net::new(&mut rng);
        let steps = $net::STEPS;
        same_params_either_way(
            stringify!($net),
            &mut net,
            steps,
            &mut rng,
            |n, len, cont, rng| {
                let (xs, ys) = (seq::<$wx>(len, rng), seq::<$wy>(len, rng));
                if cont {
                    n.fprop_continued(&xs, &ys).unwrap();
                } else {
                    n.fprop(&xs, &ys).unwrap();
                }
            },
        );
    }};
}

#[test]
fn input_gradients_off_leave_gradients_through_time_bit_identical() {
    same_params_through_time!(Elman, 2, 1, 31);
    same_params_through_time!(Stacked, 2, 2, 32);
    same_params_through_time!(DelayedInput, 2, 1, 33);
    same_params_through_time!(WithModules, 2, 4, 34);
    same_params_through_time!(LearnedInput, 2, 1, 35);
    same_params_through_time!(SelfLinear, 2, 3, 39);
    same_params_through_time!(SelfTanh, 2, 3, 40);
    same_params_through_time!(SelfAdd, 2, 2, 41);
    same_params_through_time!(SelfModules, 2, 4, 42);
    // A target given once per sequence.
    let mut rng = StdRng::seed_from_u64(36);
    let mut net = LastStep::new(&mut rng);
    same_params_either_way("LastStep", &mut net, 5, &mut rng, |n, len, cont, rng| {
        let (xs, label) = (seq::<3>(len, rng), seq::<2>(1, rng)[0]);
        if cont {
            n.fprop_continued(&label, &xs).unwrap();
        } else {
            n.fprop(&label, &xs).unwrap();
        }
    });
}

/// Off, the per-step input's and target's `dx` are not written at any step.
#[test]
fn input_dx_through_time_is_not_written_when_input_gradients_are_off() {
    const SENTINEL: f64 = 77.0;
    let mut rng = StdRng::seed_from_u64(37);
    let mut net = Elman::new(&mut rng);
    for len in [6, 3] {
        let (xs, ys) = (seq::<2>(len, &mut rng), seq::<1>(len, &mut rng));
        net.fprop(&xs, &ys).unwrap();
        for t in 0..len {
            net.x[t].dx = [SENTINEL; 2];
            net.y[t].dx = [SENTINEL];
        }
        net.bprop();
        for t in 0..len {
            assert_eq!((net.x[t].dx, net.y[t].dx), ([SENTINEL; 2], [SENTINEL]));
            assert!(net.h[t].dx.iter().all(|d| *d != SENTINEL));
        }
        net.set_input_grads(true);
        net.bprop();
        assert!((0..len).all(|t| net.x[t].dx != [SENTINEL; 2]));
        net.set_input_grads(false);
    }
}

/// The learned value of an input before step 0 gets its gradient with input gradients off (the
/// default): its `dx` is computed either way.
#[test]
fn a_learned_initial_input_with_input_gradients_off() {
    let mut rng = StdRng::seed_from_u64(38);
    let mut net = LearnedInput::new(&mut rng);
    for p in net.x_initial_params_mut() {
        *p = rng.random_range(-1.0..1.0);
    }
    for len in [4, 2] {
        let (xs, ys) = (seq::<2>(len, &mut rng), seq::<1>(len, &mut rng));
        let report = check_gradients(&mut net, |n| n.fprop(&xs, &ys).unwrap());
        assert!(!net.input_grads());
        assert!(report.passes(TOL), "len {len}:\n{report}");
        assert!(net.x_initial_grads().iter().any(|g| *g != 0.0));
    }
}

network! {
    /// Per-step classification: a scaled-tanh recurrent layer, logistic units reading their own
    /// output one step back, and the negative log-likelihood at every step, summed.
    #[bpnet(float = f64)]
    pub struct StepClasses {
        unfold 5 {
            input  x: 2;
            target y: 3;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: scaled_tanh(a);
            g: 3   = sg: sigmoid(g[t - 1]);
            b      = add(h, g);
            e      = wo: linear(b -> 3);
            l      = nll(e, y, beta = 1.5);
        }
        initial g = [0.3, -0.2, 0.1];
        energy = sum(l);
    }
}

network! {
    /// A sequence classifier: logistic units through time, and the hinge loss once, after the
    /// steps, against a class given once per sequence.
    #[bpnet(float = f64)]
    pub struct SequenceLabel {
        target label: 3;
        unfold 4 {
            input  x: 2;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: sigmoid(a);
        }
        z      = last(h);
        e      = wo: linear(z -> 3);
        energy = hinge(e, label, margin = 0.5);
    }
}

/// The sigmoid, the scaled tanh and a loss inside `unfold`: back-propagation through time against
/// central differences (f64, relative tolerance `TOL` = 1e-6), and the per-step energies `run`
/// returns.
#[test]
fn classification_through_time() {
    check_seq!(StepClasses, 2, 3, 60);
    check_seq!(StepClasses, 2, 3, 61, 0.8);
    let mut rng = StdRng::seed_from_u64(62);
    let mut net = StepClasses::new(&mut rng);
    let xs = seq::<2>(5, &mut rng);
    let ys: Vec<[f64; 3]> = (0..5)
        .map(|t| std::array::from_fn(|j| (j == t % 3) as u8 as f64))
        .collect();
    let e = net.fprop(&xs, &ys).unwrap();
    let per_step: f64 = (0..5).map(|t| net.l[t].x[0]).sum();
    assert!((e - per_step).abs() < 1e-12);
    let energies: Vec<[f64; 3]> = net.run(&xs).unwrap().to_vec();
    for (t, scores) in energies.iter().enumerate() {
        let z: f64 = scores.iter().map(|v| (-1.5 * v).exp()).sum();
        let want = scores[t % 3] + z.ln() / 1.5;
        assert!((net.l[t].x[0] - want).abs() < 1e-12, "step {t}");
    }
}

#[test]
fn a_sequence_classifier_with_the_hinge_loss() {
    let mut rng = StdRng::seed_from_u64(63);
    let mut net = SequenceLabel::new(&mut rng);
    for (len, class) in [(4, 0), (2, 2), (1, 1)] {
        let xs = seq::<2>(len, &mut rng);
        let label: [f64; 3] = std::array::from_fn(|j| (j == class) as u8 as f64);
        net.set_input_grads(false);
        let report = check_gradients(&mut net, |n| n.fprop(&label, &xs).unwrap());
        assert!(report.passes(TOL), "len {len}:\n{report}");
        assert!(
            net.fprop(&label, &xs).unwrap() > 0.0,
            "the margin is not met yet"
        );
        let flat: Vec<f64> = xs.iter().flatten().copied().collect();
        let ndx = numeric(
            &mut |v| {
                let xs: Vec<[f64; 2]> = v.chunks(2).map(|c| c.try_into().unwrap()).collect();
                net.fprop(&label, &xs).unwrap()
            },
            &flat,
        );
        net.set_input_grads(true);
        net.fprop(&label, &xs).unwrap();
        net.bprop();
        let dx: Vec<f64> = (0..len).flat_map(|t| net.x[t].dx).collect();
        assert_close("SequenceLabel dE/dx", &dx, &ndx);
        // The class is read from the target, never differentiated.
        assert_eq!(net.label.dx, [0.0; 3]);
    }
}

/// The same networks on minibatches of sequences: the batch's energy, parameter gradients and
/// dE/dx against the sums over its sequences (f64, 1e-10 relative).
#[test]
fn classification_through_time_in_a_batch() {
    use common::close;
    let mut rng = StdRng::seed_from_u64(64);
    let mut net = StepClasses::new(&mut rng);
    for p in net.params_mut() {
        *p = rng.random_range(-0.8..0.8);
    }
    net.set_input_grads(true);
    net.reserve_batch(4).unwrap();
    for (rows, len) in [(4, 5), (2, 3), (4, 1)] {
        let xs: Vec<Vec<[f64; 2]>> = (0..rows).map(|_| seq::<2>(len, &mut rng)).collect();
        let ys: Vec<Vec<[f64; 3]>> = (0..rows).map(|_| seq::<3>(len, &mut rng)).collect();
        net.zero_grad();
        let (mut energy, mut dxs) = (0.0, Vec::new());
        for (x, y) in xs.iter().zip(&ys) {
            energy += net.fprop(x, y).unwrap();
            net.bprop();
            dxs.push((0..len).map(|t| net.x[t].dx).collect::<Vec<_>>());
        }
        let summed = net.grads().to_vec();
        net.zero_grad();
        let e = net.fprop_batch(&xs, &ys).unwrap();
        net.bprop_batch();
        assert!(
            close(&[e], &[energy]),
            "rows {rows} len {len}: {e} vs {energy}"
        );
        assert!(close(net.grads(), &summed), "rows {rows} len {len}");
        for (i, dx) in dxs.iter().enumerate() {
            for (t, d) in dx.iter().enumerate() {
                assert!(close(&net.batch().x[t].dx[i], d), "dE/dx row {i} step {t}");
            }
        }
    }

    let mut net = SequenceLabel::new(&mut rng);
    net.reserve_batch(3).unwrap();
    for len in [4, 2] {
        let xs: Vec<Vec<[f64; 2]>> = (0..3).map(|_| seq::<2>(len, &mut rng)).collect();
        let labels = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]];
        net.zero_grad();
        let mut energy = 0.0;
        for (x, label) in xs.iter().zip(&labels) {
            energy += net.fprop(label, x).unwrap();
            net.bprop();
        }
        let summed = net.grads().to_vec();
        net.zero_grad();
        let e = net.fprop_batch(&labels, &xs).unwrap();
        net.bprop_batch();
        assert!(close(&[e], &[energy]), "len {len}: {e} vs {energy}");
        assert!(close(net.grads(), &summed), "len {len}");
        let scores = net.run_batch(&xs).unwrap().to_vec();
        for (x, s) in xs.iter().zip(&scores) {
            assert!(close(s, net.run(x).unwrap()));
        }
    }
}
