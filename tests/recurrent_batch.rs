//! Minibatches of sequences for networks unfolded in time: the batch's energy is the sum of the
//! sequences' energies and its gradient the sum of their gradients (f64, to 1e-10 relative:
//! `|a − b| ≤ 1e-10 · max(|a|, |b|, 1)`), every row holds its sequence's states and, with input
//! gradients on, its dE/d(input) and dE/d(target) at every step; run_batch gives every sequence
//! its outputs; wrong batches are errors. One f32 network is wide enough for the packed matrix
//! product's blocking.

use bpnet::prelude::*;

mod common;

use common::{Square, bits, close, rows as seq};

network! {
    /// The Elman network, with an output squashed by a tanh (the output `run` returns).
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
    /// Two recurrent layers stacked; the upper one also feeds back into the lower one.
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
    /// A delay of two steps next to a delay of one, from an explicit initial value.
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
    /// A learned initial hidden state, shared by every sequence of a batch.
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
    /// Sequence classification: a classifier after the steps reads `last(h)`, against a label
    /// given once per sequence (one row per sequence in a batch).
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
    /// A nested network on the delayed state and a user module (which keeps its input for bprop)
    /// at every step: one value per step and sequence.
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
    /// The energy on chosen steps: the first two and those from 4 on.
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
    /// The input read one and two steps back (from an explicit initial value), a learned state
    /// read two steps back, and an explicit per-step output.
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
    /// An input whose value before step 0 is learned: its `dx` is computed with input gradients
    /// off too.
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

network! {
    /// f32, and wide enough (40 inputs, 48 hidden units) for the packed matrix product's blocking
    /// and, where there is one, its AVX-512 tile.
    pub struct Wide {
        unfold 6 {
            input  x: 40;
            target y: 3;
            s      = wx: linear(x -> 48);
            c      = wh: linear(h[t - 1] -> 48);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 3);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

/// Random sequences, one per row, all of `len` steps.
fn seqs<const W: usize>(rows: usize, len: usize, rng: &mut StdRng) -> Vec<Vec<[f64; W]>> {
    (0..rows).map(|_| seq::<W>(len, rng)).collect()
}

/// Batches of several sizes and lengths (full, shorter, one step; a smaller batch after a larger
/// one, so that nothing from the larger lingers), input gradients on: the batch against the
/// sequences one by one, for a network with a per-step input `x` and target `y`.
macro_rules! check_batch {
    ($net:ty, $wx:literal, $wy:literal, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        // Away from the initial values (learned initial states start at zero).
        for p in net.params_mut() {
            *p = rng.random_range(-0.8..0.8);
        }
        net.set_input_grads(true);
        net.reserve_batch(5).unwrap();
        let steps = <$net>::STEPS;
        for (rows, len) in [(5, steps), (3, 2), (1, steps), (5, 1), (4, steps - 1)] {
            let (xs, ys) = (
                seqs::<$wx>(rows, len, &mut rng),
                seqs::<$wy>(rows, len, &mut rng),
            );
            net.zero_grad();
            let (mut energies, mut dxs, mut dys) = (Vec::new(), Vec::new(), Vec::new());
            for (x, y) in xs.iter().zip(&ys) {
                energies.push(net.fprop(x, y).unwrap());
                net.bprop();
                dxs.push((0..len).map(|t| net.x[t].dx).collect::<Vec<_>>());
                dys.push((0..len).map(|t| net.y[t].dx).collect::<Vec<_>>());
            }
            let energy: f64 = energies.iter().sum();
            let summed = net.grads().to_vec();
            net.zero_grad();
            let e = net.fprop_batch(&xs, &ys).unwrap();
            net.bprop_batch();
            let what = format!("{} rows {rows} len {len}", stringify!($net));
            assert!(close(&[e], &[energy]), "{what}: energy {e} vs {energy}");
            assert!(
                close(net.grads(), &summed),
                "{what}: {:?} vs {summed:?}",
                net.grads()
            );
            let b = net.batch();
            for i in 0..rows {
                assert!(close(&b.energy.x[i], &[energies[i]]), "{what}: energy {i}");
                for t in 0..len {
                    assert_eq!(b.x[t].x[i], xs[i][t], "{what}: x of row {i}, step {t}");
                    assert!(close(&b.x[t].dx[i], &dxs[i][t]), "{what}: dE/dx {i} {t}");
                    assert!(close(&b.y[t].dx[i], &dys[i][t]), "{what}: dE/dy {i} {t}");
                }
            }
            // Parameter gradients add up over calls, as per sequence.
            net.bprop_batch();
            let doubled: Vec<f64> = summed.iter().map(|g| 2.0 * g).collect();
            assert!(close(net.grads(), &doubled), "{what}: no sum over calls");
        }
    }};
}

#[test]
fn elman_batch_is_the_sum_of_its_sequences() {
    check_batch!(Elman, 2, 1, 1);
}

#[test]
fn stacked_layers_with_feedback_in_a_batch() {
    check_batch!(Stacked, 2, 2, 2);
}

#[test]
fn a_delay_of_two_in_a_batch() {
    check_batch!(DelayTwo, 1, 1, 3);
}

#[test]
fn a_learned_initial_state_in_a_batch() {
    check_batch!(Learned, 2, 2, 4);
    // Every sequence starts from the learned value, whose gradient gathers all of them.
    let mut rng = StdRng::seed_from_u64(40);
    let mut net = Learned::new(&mut rng);
    for p in net.h_initial_params_mut() {
        *p = rng.random_range(-1.0..1.0);
    }
    net.reserve_batch(3).unwrap();
    let (xs, ys) = (seqs::<2>(3, 4, &mut rng), seqs::<2>(3, 4, &mut rng));
    net.fprop_batch(&xs, &ys).unwrap();
    for i in 0..3 {
        assert_eq!(net.batch().h.initial(1).x[i], net.h_initial_params());
    }
    net.zero_grad();
    net.bprop_batch();
    assert!(net.h_initial_grads().iter().any(|g| *g != 0.0));
}

#[test]
fn user_and_nested_modules_in_a_batch() {
    check_batch!(WithModules, 2, 4, 5);
}

#[test]
fn energy_on_chosen_steps_in_a_batch() {
    check_batch!(ChosenSteps, 2, 1, 6);
}

#[test]
fn delayed_inputs_in_a_batch() {
    check_batch!(DelayedInput, 2, 1, 7);
    check_batch!(LearnedInput, 2, 1, 8);
}

/// Modules reading their own output at an earlier step (`h = …(h[t − k])`: linear, tanh, add, a
/// user module, a nested network, Euclidean; delays 1 and 2): the batch against the sequences
/// one by one (f64, relative 1e-10); continued batches in
/// `continued_batches_truncate_back_propagation_through_time`.
#[test]
fn modules_reading_their_own_earlier_output_in_a_batch() {
    check_batch!(SelfLinear, 2, 3, 50);
    check_batch!(SelfTanh, 2, 3, 51);
    check_batch!(SelfAdd, 2, 2, 52);
    check_batch!(SelfModules, 2, 4, 53);
    // run_batch: every sequence's outputs are those of run.
    let mut rng = StdRng::seed_from_u64(58);
    let mut net = SelfAdd::new(&mut rng);
    for p in net.params_mut() {
        *p = rng.random_range(-0.5..0.5);
    }
    net.reserve_batch(3).unwrap();
    let xs = seqs::<2>(3, 5, &mut rng);
    let each: Vec<Vec<[f64; 2]>> = xs.iter().map(|x| net.run(x).unwrap().to_vec()).collect();
    let out = net.run_batch(&xs).unwrap();
    for (i, want) in each.iter().enumerate() {
        let got: Vec<[f64; 2]> = out.sequence(i).copied().collect();
        assert!(
            close(got.as_flattened(), want.as_flattened()),
            "sequence {i}"
        );
    }
}

/// A label once per sequence (one row per sequence) and a classifier reading `last(h)`.
#[test]
fn a_sequence_classifier_in_a_batch() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut net = LastStep::new(&mut rng);
    for p in net.params_mut() {
        *p = rng.random_range(-0.8..0.8);
    }
    net.set_input_grads(true);
    net.reserve_batch(4).unwrap();
    for (rows, len) in [(4, 5), (2, 3), (4, 1)] {
        let (labels, xs) = (seq::<2>(rows, &mut rng), seqs::<3>(rows, len, &mut rng));
        net.zero_grad();
        let (mut energy, mut dxs, mut dlabels) = (0.0, Vec::new(), Vec::new());
        for (label, x) in labels.iter().zip(&xs) {
            energy += net.fprop(label, x).unwrap();
            net.bprop();
            dxs.push((0..len).map(|t| net.x[t].dx).collect::<Vec<_>>());
            dlabels.push(net.label.dx);
        }
        let summed = net.grads().to_vec();
        net.zero_grad();
        let e = net.fprop_batch(&labels, &xs).unwrap();
        net.bprop_batch();
        assert!(close(&[e], &[energy]), "rows {rows} len {len}");
        assert!(close(net.grads(), &summed), "rows {rows} len {len}");
        for i in 0..rows {
            assert!(close(&net.batch().label.dx[i], &dlabels[i]));
            for (t, dx) in dxs[i].iter().enumerate() {
                assert!(close(&net.batch().x[t].dx[i], dx), "row {i} step {t}");
            }
        }
        // The classifier's output, one row per sequence.
        let outs = net.run_batch(&xs).unwrap().to_vec();
        assert_eq!(outs.len(), rows);
        for (x, out) in xs.iter().zip(&outs) {
            assert!(close(out, net.run(x).unwrap()));
        }
    }
}

#[test]
fn run_batch_gives_every_sequence_its_outputs_at_every_step() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut net = Elman::new(&mut rng);
    net.reserve_batch(4).unwrap();
    for (rows, len) in [(4, 6), (3, 2)] {
        let xs = seqs::<2>(rows, len, &mut rng);
        let want: Vec<Vec<[f64; 1]>> = xs.iter().map(|x| net.run(x).unwrap().to_vec()).collect();
        let outs = net.run_batch(&xs).unwrap();
        assert_eq!((outs.steps(), outs.rows()), (len, rows));
        for (i, w) in want.iter().enumerate() {
            for t in 0..len {
                assert!(close(&outs[t][i], &w[t]), "row {i} step {t}");
            }
            let by_row: Vec<[f64; 1]> = outs.sequence(i).copied().collect();
            assert_eq!(by_row.len(), len);
            assert!(close(by_row.as_flattened(), w.as_flattened()));
        }
    }
    // An explicit per-step output, reading the input with delays.
    let mut net = DelayedInput::new(&mut rng);
    net.reserve_batch(2).unwrap();
    let xs = seqs::<2>(2, 5, &mut rng);
    let want: Vec<f64> = xs
        .iter()
        .flat_map(|x| net.run(x).unwrap().iter().map(|v| v[0]).collect::<Vec<_>>())
        .collect();
    let outs = net.run_batch(&xs).unwrap();
    let got: Vec<f64> = (0..2)
        .flat_map(|i| outs.sequence(i).map(|o| o[0]))
        .collect();
    assert!(close(&got, &want));
}

/// `run` returns values, never states: for an output inside the `unfold` block, the value of
/// every step run, which are the `x` of the output's states (still on the network's fields) and
/// the rows of `run_batch` with one sequence; `run_continued` and `try_run` give the same.
macro_rules! check_run_values {
    ($net:ty, $o:ident, $wx:literal, $wo:literal, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        for p in net.params_mut() {
            *p = rng.random_range(-0.8..0.8);
        }
        net.reserve_batch(1).unwrap();
        let steps = <$net>::STEPS;
        for len in [steps, 1, steps - 1] {
            let xs = seq::<$wx>(len, &mut rng);
            let out = net.run(&xs).unwrap();
            assert_eq!((out.len(), out.is_empty()), (len, false));
            let last = *out.last().unwrap();
            let firsts: Vec<f64> = (0..len).map(|t| out[t][0]).collect();
            let values: Vec<[f64; $wo]> = out.to_vec();
            assert_eq!(values.len(), len);
            assert_eq!(last, values[len - 1]);
            assert_eq!(firsts, values.iter().map(|v| v[0]).collect::<Vec<_>>());
            // The states of the steps run stay on the fields: their x is what run returned.
            let states: Vec<[f64; $wo]> = (0..len).map(|t| net.$o[t].x).collect();
            assert_eq!(values, states, "{} len {len}", stringify!($net));
            // run_batch with one row: its only sequence.
            let outs = net.run_batch(&[&xs]).unwrap();
            assert_eq!((outs.steps(), outs.rows()), (len, 1));
            for t in 0..len {
                assert!(
                    close(&outs[t][0], &values[t]),
                    "{} step {t}",
                    stringify!($net)
                );
            }
            let row: Vec<[f64; $wo]> = outs.sequence(0).copied().collect();
            assert!(close(row.as_flattened(), values.as_flattened()));
            // try_run: the same values, from the steps one after the other.
            assert_eq!(net.try_run(xs.as_flattened()).unwrap().to_vec(), values);
            // run_continued step by step after a reset: the same values again.
            net.reset();
            let stepped: Vec<[f64; $wo]> = xs
                .iter()
                .map(|x| {
                    let one = net.run_continued(std::slice::from_ref(x)).unwrap();
                    assert_eq!(one.len(), 1);
                    one[0]
                })
                .collect();
            assert!(close(stepped.as_flattened(), values.as_flattened()));
        }
    }};
}

#[test]
fn run_returns_the_values_of_the_output_states_and_of_run_batch() {
    check_run_values!(Elman, out, 2, 1, 70); // the output an energy `euclidean(out, y)` implies
    check_run_values!(DelayedInput, o, 2, 1, 71); // an explicit output, delayed inputs
    check_run_values!(SelfAdd, o, 2, 2, 72); // wider than one, a module reading itself
    check_run_values!(Learned, o, 2, 2, 73); // a learned initial state
}

/// Sequences given as vectors, slices or arrays.
#[test]
fn sequences_as_vectors_slices_or_arrays() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut net = Elman::new(&mut rng);
    net.reserve_batch(2).unwrap();
    let (xs, ys) = (seqs::<2>(2, 3, &mut rng), seqs::<1>(2, 3, &mut rng));
    let from_vecs = net.fprop_batch(&xs, &ys).unwrap();
    let from_slices = net
        .fprop_batch(&[&xs[0][..], &xs[1][..]], &[ys[0].as_slice(), &ys[1]])
        .unwrap();
    let arrays: [[[f64; 2]; 3]; 2] = [
        xs[0].clone().try_into().unwrap(),
        xs[1].clone().try_into().unwrap(),
    ];
    let from_arrays = net.fprop_batch(&arrays, &ys).unwrap();
    assert_eq!(from_vecs, from_slices);
    assert_eq!(from_vecs, from_arrays);
}

#[test]
fn batches_of_sequences_are_checked() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut net = Elman::new(&mut rng);
    let (xs, ys) = (seqs::<2>(4, 3, &mut rng), seqs::<1>(4, 3, &mut rng));
    assert_eq!(
        net.fprop_batch(&xs, &ys),
        Err(Error::BatchTooLarge {
            input: "x",
            capacity: 0,
            found: 4
        })
    );
    net.reserve_batch(3).unwrap();
    assert_eq!(
        net.fprop_batch(&xs, &ys),
        Err(Error::BatchTooLarge {
            input: "x",
            capacity: 3,
            found: 4
        })
    );
    assert_eq!(
        net.run_batch(&xs).map(|o| o.rows()),
        Err(Error::BatchTooLarge {
            input: "x",
            capacity: 3,
            found: 4
        })
    );
    // Not as many targets as inputs.
    assert_eq!(
        net.fprop_batch(&xs[..3], &ys[..2]),
        Err(Error::Rows {
            input: "y",
            expected: 3,
            found: 2
        })
    );
    // The sequences of one batch are all of one length.
    let ragged = vec![seq::<2>(3, &mut rng), seq::<2>(2, &mut rng)];
    assert_eq!(
        net.fprop_batch(&ragged, &ys[..2]),
        Err(Error::Length {
            input: "x",
            expected: 3,
            found: 2
        })
    );
    let short_targets: Vec<Vec<[f64; 1]>> = ys[..2].iter().map(|y| y[..2].to_vec()).collect();
    assert_eq!(
        net.fprop_batch(&xs[..2], &short_targets),
        Err(Error::Length {
            input: "y",
            expected: 3,
            found: 2
        })
    );
    // At most STEPS steps; at least one sequence of at least one step.
    let long = seqs::<2>(2, 7, &mut rng);
    let long_y = seqs::<1>(2, 7, &mut rng);
    assert_eq!(
        net.fprop_batch(&long, &long_y),
        Err(Error::TooLong {
            input: "x",
            steps: 6,
            found: 7
        })
    );
    // An empty minibatch is an error, as for a feed-forward network (tests/batch.rs).
    let none: [&[[f64; 1]]; 0] = [];
    assert_eq!(
        net.fprop_batch(&[] as &[Vec<[f64; 2]>], &none),
        Err(Error::EmptyBatch { input: "x" })
    );
    assert_eq!(
        net.run_batch(&[] as &[Vec<[f64; 2]>]).map(|o| o.rows()),
        Err(Error::EmptyBatch { input: "x" })
    );
    let empty: Vec<Vec<[f64; 2]>> = vec![vec![]; 2];
    let empty_y: Vec<Vec<[f64; 1]>> = vec![vec![]; 2];
    assert!(net.fprop_batch(&empty, &empty_y).is_err());

    // A failed call leaves the last batch as it was: bprop_batch still sweeps it.
    let e = net.fprop_batch(&xs[..3], &ys[..3]).unwrap();
    net.zero_grad();
    net.bprop_batch();
    let before = net.grads().to_vec();
    assert!(net.fprop_batch(&long, &long_y).is_err());
    assert!(net.fprop_batch(&ragged, &ys[..2]).is_err());
    assert_eq!(
        net.batch().energy.x[..3].iter().map(|v| v[0]).sum::<f64>(),
        e
    );
    net.zero_grad();
    net.bprop_batch();
    assert_eq!(net.grads(), before);
}

/// Truncated back-propagation through time on a batch: a first chunk, then a continued one
/// (with all the sequences, then with the first ones only): energies and gradients of the
/// continued chunk against the sequences' own `fprop_continued`, input gradients on.
macro_rules! check_continued {
    ($net:ty, $wx:literal, $wy:literal, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        for p in net.params_mut() {
            *p = rng.random_range(-0.8..0.8);
        }
        net.set_input_grads(true);
        net.reserve_batch(4).unwrap();
        let steps = <$net>::STEPS;
        for (first, second, kept) in [(steps, steps - 1, 4), (2, steps, 3), (1, 1, 1)] {
            let (xs, ys) = (
                seqs::<$wx>(4, first, &mut rng),
                seqs::<$wy>(4, first, &mut rng),
            );
            let (xs2, ys2) = (
                seqs::<$wx>(kept, second, &mut rng),
                seqs::<$wy>(kept, second, &mut rng),
            );
            net.zero_grad();
            let (mut energy, mut dxs) = (0.0, Vec::new());
            for i in 0..kept {
                net.fprop(&xs[i], &ys[i]).unwrap();
                energy += net.fprop_continued(&xs2[i], &ys2[i]).unwrap();
                net.bprop();
                dxs.push((0..second).map(|t| net.x[t].dx).collect::<Vec<_>>());
            }
            let summed = net.grads().to_vec();
            net.fprop_batch(&xs, &ys).unwrap();
            net.zero_grad();
            let e = net.fprop_batch_continued(&xs2, &ys2).unwrap();
            net.bprop_batch();
            let what = format!("{} {first} then {second} steps", stringify!($net));
            assert!(close(&[e], &[energy]), "{what}: energy {e} vs {energy}");
            assert!(close(net.grads(), &summed), "{what}: gradients");
            for (i, dx) in dxs.iter().enumerate() {
                for (t, d) in dx.iter().enumerate() {
                    assert!(close(&net.batch().x[t].dx[i], d), "{what}: dE/dx {i} {t}");
                }
            }
        }
    }};
}

#[test]
fn continued_batches_truncate_back_propagation_through_time() {
    check_continued!(Elman, 2, 1, 30);
    check_continued!(Learned, 2, 2, 31);
    check_continued!(DelayTwo, 1, 1, 32);
    check_continued!(DelayedInput, 2, 1, 33);
    check_continued!(WithModules, 2, 4, 34);
    // Modules reading their own earlier output.
    check_continued!(SelfLinear, 2, 3, 54);
    check_continued!(SelfTanh, 2, 3, 55);
    check_continued!(SelfAdd, 2, 2, 56);
    check_continued!(SelfModules, 2, 4, 57);
}

/// A batch run in chunks, or step by step, gives the outputs of one run over the whole
/// sequences; a continued call takes at most as many sequences as the call it continues.
#[test]
fn continued_batches_run_in_chunks() {
    let mut rng = StdRng::seed_from_u64(35);
    let mut net = DelayedInput::new(&mut rng);
    for p in net.params_mut() {
        *p = rng.random_range(-0.8..0.8);
    }
    net.reserve_batch(3).unwrap();
    let xs = seqs::<2>(3, 5, &mut rng);
    let row = |out: bpnet::StepRows<'_, f64, 1>, i: usize| -> Vec<f64> {
        out.sequence(i).map(|o| o[0]).collect()
    };
    let whole: Vec<Vec<f64>> = {
        let out = net.run_batch(&xs).unwrap();
        (0..3).map(|i| row(out, i)).collect()
    };
    let head: Vec<&[[f64; 2]]> = xs.iter().map(|x| &x[..2]).collect();
    let tail: Vec<&[[f64; 2]]> = xs.iter().map(|x| &x[2..]).collect();
    let mut chunked: Vec<Vec<f64>> = {
        let out = net.run_batch(&head).unwrap();
        (0..3).map(|i| row(out, i)).collect()
    };
    let out = net.run_batch_continued(&tail).unwrap();
    for (i, c) in chunked.iter_mut().enumerate() {
        c.extend(row(out, i));
    }
    assert_eq!(chunked, whole);
    // Step by step from a reset, the last sequence left out after three steps.
    net.reset();
    let mut stepped = vec![Vec::new(); 3];
    for t in 0..5 {
        let rows = if t < 3 { 3 } else { 2 };
        let step: Vec<&[[f64; 2]]> = xs[..rows].iter().map(|x| &x[t..t + 1]).collect();
        let out = net.run_batch_continued(&step).unwrap();
        for (i, s) in stepped.iter_mut().enumerate().take(rows) {
            s.extend(row(out, i));
        }
    }
    assert_eq!(stepped[..2], whole[..2]);
    assert_eq!(stepped[2], whole[2][..3]);
    // Two sequences left: a third cannot be continued.
    let ys = seqs::<1>(3, 1, &mut rng);
    let one: Vec<&[[f64; 2]]> = xs.iter().map(|x| &x[..1]).collect();
    assert_eq!(
        net.fprop_batch_continued(&one, &ys),
        Err(Error::Continuation {
            input: "x",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        net.run_batch_continued(&one).map(|o| o.rows()),
        Err(Error::Continuation {
            input: "x",
            expected: 2,
            found: 3
        })
    );
    // After a reset (or a new reserve_batch), a continued call starts afresh, any size.
    net.reset();
    assert!(net.fprop_batch_continued(&one, &ys).is_ok());
    net.reserve_batch(3).unwrap();
    let fresh = net.fprop_batch(&one, &ys).unwrap();
    net.fprop_batch(&one[..1], &ys[..1]).unwrap();
    net.reserve_batch(3).unwrap();
    assert_eq!(net.fprop_batch_continued(&one, &ys).unwrap(), fresh);
}

/// Input gradients off (the default) and on, from the same fprop_batch: the parameter gradients
/// are bit for bit the same; off, the input's and target's `dx` are not written (as last
/// computed).
macro_rules! batch_params_either_way {
    ($net:ty, $wx:literal, $wy:literal, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        for p in net.params_mut() {
            *p = rng.random_range(-0.8..0.8);
        }
        net.reserve_batch(4).unwrap();
        let steps = <$net>::STEPS;
        for (round, (rows, len)) in [(4, steps), (2, 3), (4, steps)].into_iter().enumerate() {
            let (xs, ys) = (
                seqs::<$wx>(rows, len, &mut rng),
                seqs::<$wy>(rows, len, &mut rng),
            );
            net.fprop_batch(&xs, &ys).unwrap();
            let y_dx_before: Vec<_> = (0..len).map(|t| net.batch().y[t].dx.clone()).collect();
            net.set_input_grads(false);
            net.zero_grad();
            net.bprop_batch();
            let off = bits(net.grads());
            let y_dx_off: Vec<_> = (0..len).map(|t| net.batch().y[t].dx.clone()).collect();
            assert_eq!(y_dx_off, y_dx_before, "{} round {round}", stringify!($net));
            net.set_input_grads(true);
            net.zero_grad();
            net.bprop_batch();
            assert_eq!(bits(net.grads()), off, "{} round {round}", stringify!($net));
        }
    }};
}

#[test]
fn input_gradients_off_leave_batch_gradients_through_time_bit_identical() {
    batch_params_either_way!(Elman, 2, 1, 20);
    batch_params_either_way!(Stacked, 2, 2, 21);
    batch_params_either_way!(DelayedInput, 2, 1, 22);
    batch_params_either_way!(WithModules, 2, 4, 23);
    batch_params_either_way!(LearnedInput, 2, 1, 24);
    batch_params_either_way!(SelfLinear, 2, 3, 59);
    batch_params_either_way!(SelfTanh, 2, 3, 60);
    batch_params_either_way!(SelfAdd, 2, 2, 61);
    batch_params_either_way!(SelfModules, 2, 4, 62);
}

/// Off, a per-step input's `dx` is left as it was at every step; on, it is written.
#[test]
fn input_dx_of_a_batch_is_not_written_when_input_gradients_are_off() {
    let mut rng = StdRng::seed_from_u64(25);
    let mut net = Elman::new(&mut rng);
    net.reserve_batch(3).unwrap();
    let (xs, ys) = (seqs::<2>(3, 6, &mut rng), seqs::<1>(3, 6, &mut rng));
    net.fprop_batch(&xs, &ys).unwrap();
    net.bprop_batch();
    // Never computed: zero.
    assert!((0..6).all(|t| net.batch().x[t].dx.iter().flatten().all(|d| *d == 0.0)));
    net.set_input_grads(true);
    net.bprop_batch();
    let on: Vec<_> = (0..6).map(|t| net.batch().x[t].dx[..3].to_vec()).collect();
    assert!(on.iter().flatten().flatten().any(|d| *d != 0.0));
    let (xs, ys) = (seqs::<2>(3, 6, &mut rng), seqs::<1>(3, 6, &mut rng));
    net.fprop_batch(&xs, &ys).unwrap();
    net.set_input_grads(false);
    net.bprop_batch();
    let off: Vec<_> = (0..6).map(|t| net.batch().x[t].dx[..3].to_vec()).collect();
    assert_eq!(off, on);
}

/// The f32 network through the packed matrix product: the batch against the sequences one by
/// one, to f32 precision (`|a − b| ≤ 1e-4 · max(|a|, |b|, largest |b|)`: the product adds in
/// another order), and input gradients off and on bit for bit.
#[test]
fn wide_f32_batch_through_the_matrix_product() {
    let mut rng = StdRng::seed_from_u64(26);
    let mut net = Wide::new(&mut rng);
    for p in net.h_initial_params_mut() {
        *p = rng.random_range(-0.5..0.5);
    }
    net.reserve_batch(37).unwrap();
    let to32 = |s: Vec<Vec<[f64; 40]>>| -> Vec<Vec<[f32; 40]>> {
        s.iter()
            .map(|q| q.iter().map(|r| r.map(|v| v as f32)).collect())
            .collect()
    };
    let to32y = |s: Vec<Vec<[f64; 3]>>| -> Vec<Vec<[f32; 3]>> {
        s.iter()
            .map(|q| q.iter().map(|r| r.map(|v| v as f32)).collect())
            .collect()
    };
    let near = |a: &[f32], b: &[f32]| {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(scale))
    };
    for (rows, len) in [(37, 6), (9, 4)] {
        let (xs, ys) = (
            to32(seqs::<40>(rows, len, &mut rng)),
            to32y(seqs::<3>(rows, len, &mut rng)),
        );
        net.zero_grad();
        let mut energy = 0.0;
        for (x, y) in xs.iter().zip(&ys) {
            energy += net.fprop(x, y).unwrap();
            net.bprop();
        }
        let summed = net.grads().to_vec();
        net.zero_grad();
        let e = net.fprop_batch(&xs, &ys).unwrap();
        net.bprop_batch();
        assert!(near(&[e], &[energy]), "{e} vs {energy}");
        assert!(near(net.grads(), &summed), "rows {rows} len {len}");
        let off = bits(net.grads());
        net.set_input_grads(true);
        net.zero_grad();
        net.bprop_batch();
        let on = bits(net.grads());
        assert_eq!(on, off);
        net.set_input_grads(false);
    }
}
