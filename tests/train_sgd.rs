//! `train_sgd`, the fused step of online gradient descent: the parameters of the lecture's cycle
//! (`fprop; zero_grad; bprop; sgd_step`), bit for bit, for every kind with parameters (the
//! fused kernels of `linear` and the biased activations, and the generic path of the others:
//! `linear` with biases, user modules), in `f32` and `f64`, with input gradients on or off,
//! with dropout in training, and a network that fans out (a state read twice). And
//! `train_sgd_batch`, its minibatch form: the parameters of `fprop_batch; zero_grad; bprop_batch;
//! sgd_step`, bit for bit, on one and two threads, with batches of one row, of a few and of more
//! rows than one block of the matrix products' inner dimension.

mod common;

use bpnet::prelude::*;
use common::prelu;

// A parametric ReLU of four units, one trainable slope each: a user module with parameters.
prelu!(PRelu, false);

network! {
    /// The kinds with fused kernels, in f32.
    pub struct Plain32 {
        input  x: 5;
        target y: 3;
        s1     = l1: linear(x -> 9);
        h1     = t1: tanh(s1);
        s2     = l2: linear(h1 -> 12);
        h2     = t2: sigmoid(s2);
        s3     = l3: linear(h2 -> 3);
        out    = t3: scaled_tanh(s3);
        energy = euclidean(out, y);
    }
}

network! {
    /// The generic path: biases in `linear`, parameter-free kinds between, a fan-out, dropout.
    #[bpnet(float = f64)]
    pub struct Mixed64 {
        input  x: 4;
        target y: 2;
        s1     = l1: linear(x -> 6, bias = true);
        r      = act: relu(s1);
        d      = drop: dropout(r, p = 0.25);
        h      = t1: tanh(d);
        g      = gate: mul(h, r);
        c      = cat: concat(g, h);
        z      = l2: linear(c -> 2);
        out    = sc: scale(z, by = 0.5);
        energy = euclidean(out, y);
    }
}

network! {
    /// A user module beside the built-in kinds.
    #[bpnet(float = f64)]
    pub struct WithUser {
        input  x: 3;
        target y: 2;
        s      = l1: linear(x -> 4);
        p: 4   = act: PRelu(s);
        out    = l2: linear(p -> 2, bias = true);
        energy = euclidean(out, y);
    }
}

/// Samples in [−1, 1] from a seeded rng.
fn sample<const N: usize, F: From<f32>>(rng: &mut StdRng) -> [F; N] {
    std::array::from_fn(|_| F::from(rng.random_range(-1.0f32..1.0)))
}

/// Trains a clone of `net` with the cycle and `net` itself with `train_sgd` on the same
/// samples; both must end at the same parameters, bit for bit, after giving the same energies.
macro_rules! same_as_the_cycle {
    ($net:expr, $f:ty, $n:literal, $k:literal, $lr:expr, $inputs:expr) => {{
        let mut fused = $net;
        fused.set_input_grads($inputs);
        let mut cycle = fused.clone();
        let mut rng = StdRng::seed_from_u64(17);
        for step in 0..50 {
            let (x, y): ([$f; $n], [$f; $k]) = (sample(&mut rng), sample(&mut rng));
            let e1 = cycle.fprop(&x, &y);
            cycle.zero_grad();
            cycle.bprop();
            cycle.sgd_step($lr);
            let e2 = fused.train_sgd(&x, &y, $lr);
            assert_eq!(e1.to_bits(), e2.to_bits(), "energy at step {step}");
        }
        let bits = |p: &[$f]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(cycle.params()), bits(fused.params()));
        fused
    }};
}

#[test]
fn the_fused_kernels_give_the_cycles_parameters() {
    for inputs in [false, true] {
        let start = Plain32::new(&mut StdRng::seed_from_u64(1));
        let before = start.params().to_vec();
        let net = same_as_the_cycle!(start, f32, 5, 3, 0.05, inputs);
        assert_ne!(net.params(), &before[..], "the steps moved the parameters");
    }
}

#[test]
fn the_generic_path_gives_the_cycles_parameters() {
    for inputs in [false, true] {
        let mut net = Mixed64::new(&mut StdRng::seed_from_u64(2));
        net.set_training(true);
        let before = net.params().to_vec();
        let net = same_as_the_cycle!(net, f64, 4, 2, 0.05, inputs);
        assert_ne!(net.params(), &before[..], "the steps moved the parameters");
    }
}

#[test]
fn a_user_module_gets_the_cycles_parameters() {
    let net = WithUser::new(&mut StdRng::seed_from_u64(3));
    let before = net.params().to_vec();
    let net = same_as_the_cycle!(net, f64, 3, 2, 0.1, false);
    assert_ne!(net.params(), &before[..], "the steps moved the parameters");
}

/// The energy returned is the one before the step, and the step lowers it on a fixed sample.
#[test]
fn the_energy_is_the_one_before_the_step_and_falls() {
    let mut net = Plain32::new(&mut StdRng::seed_from_u64(4));
    let (x, y) = ([0.5, -0.3, 0.2, 0.9, -0.7], [0.4, -0.2, 0.6]);
    let before = net.clone().fprop(&x, &y);
    assert_eq!(net.train_sgd(&x, &y, 0.1), before);
    let after = net.clone().fprop(&x, &y);
    assert!(after < before, "{after} >= {before}");
}

/// Zeros of both signs: weights at −0 (set by hand) and inputs at ±0, so that some gradients
/// are −0. `zero_grad` clears the pool to −0, which adds nothing, so the cycle's step is the
/// fused one's to the sign of every zero (a pool cleared to +0 would turn a −0 weight moved by a
/// −0 gradient into −0 where the fused step gives +0).
#[test]
fn signed_zeros_move_alike() {
    let mut fused = Plain32::new(&mut StdRng::seed_from_u64(8));
    fused.params_mut()[..45].fill(-0.0);
    let mut cycle = fused.clone();
    let (x, y) = ([0.0, -0.0, 0.5, 0.0, -0.25], [0.9, -0.9, 0.1]);
    for _ in 0..3 {
        cycle.fprop(&x, &y);
        cycle.zero_grad();
        cycle.bprop();
        cycle.sgd_step(0.1);
        fused.train_sgd(&x, &y, 0.1);
    }
    let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(cycle.params()), bits(fused.params()));
    assert!(
        fused.params()[..45]
            .iter()
            .any(|w| w.to_bits() == 0.0f32.to_bits()),
        "some −0 weight moved by a −0 gradient"
    );
}

/// `train_sgd` leaves in the states what `fprop` then `bprop` leave there: the small networks'
/// sweep works on copies of the states and writes them back.
#[test]
fn the_states_are_those_of_fprop_and_bprop_before_the_step() {
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let mut net = Plain32::new(&mut StdRng::seed_from_u64(4));
    let (x, y) = ([0.5, -0.3, 0.2, 0.9, -0.7], [0.4, -0.2, 0.6]);
    let mut probe = net.clone();
    probe.fprop(&x, &y);
    probe.zero_grad();
    probe.bprop();
    net.train_sgd(&x, &y, 0.1);
    let both = |a: &[f32], b: &[f32]| assert_eq!(bits(a), bits(b));
    both(&net.s1.x, &probe.s1.x);
    both(&net.s1.dx, &probe.s1.dx);
    both(&net.h1.x, &probe.h1.x);
    both(&net.h2.dx, &probe.h2.dx);
    both(&net.s3.x, &probe.s3.x);
    both(&net.out.x, &probe.out.x);
    both(&net.out.dx, &probe.out.dx);
    assert_eq!(net.energy.x, probe.energy.x);
}

/// The states after `train_sgd` are those of the parameters before it: a `bprop` there would
/// mix the two, and panics with what to call instead.
#[test]
#[should_panic(
    expected = "`train_sgd` has moved the parameters since its forward pass: call `fprop` before a backward pass"
)]
fn bprop_after_train_sgd_panics() {
    let mut net = Plain32::new(&mut StdRng::seed_from_u64(5));
    net.train_sgd(&[0.0; 5], &[0.1; 3], 0.1);
    net.bprop();
}

/// A batch of `rows` samples in [−1, 1].
fn batch<const N: usize, F: From<f32>>(rng: &mut StdRng, rows: usize) -> Vec<[F; N]> {
    (0..rows).map(|_| sample(rng)).collect()
}

/// Trains a clone of `net` with the minibatch cycle and `net` itself with `train_sgd_batch` on
/// the same batches of each size in `$rows`; both must give the same energies and end at the
/// same parameters, bit for bit.
macro_rules! same_as_the_batch_cycle {
    ($net:expr, $f:ty, $n:literal, $k:literal, $lr:expr, $inputs:expr, $rows:expr) => {{
        let mut fused = $net;
        fused.set_input_grads($inputs);
        let mut cycle = fused.clone();
        let mut rng = StdRng::seed_from_u64(18);
        for (step, &rows) in $rows.iter().cycle().take(2 * $rows.len()).enumerate() {
            let x: Vec<[$f; $n]> = batch(&mut rng, rows);
            let y: Vec<[$f; $k]> = batch(&mut rng, rows);
            let e1 = cycle.fprop_batch(&x, &y).unwrap();
            cycle.zero_grad();
            cycle.bprop_batch();
            cycle.sgd_step($lr);
            let e2 = fused.train_sgd_batch(&x, &y, $lr).unwrap();
            assert_eq!(
                e1.to_bits(),
                e2.to_bits(),
                "energy at step {step} ({rows} rows)"
            );
        }
        let bits = |p: &[$f]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(cycle.params()), bits(fused.params()));
        fused
    }};
}

#[test]
fn a_batch_step_gives_the_batch_cycles_parameters() {
    for inputs in [false, true] {
        let mut start = Plain32::new(&mut StdRng::seed_from_u64(1));
        start.reserve_batch(40).unwrap();
        let before = start.params().to_vec();
        let net = same_as_the_batch_cycle!(start, f32, 5, 3, 0.01, inputs, [1, 7, 40]);
        assert_ne!(net.params(), &before[..], "the steps moved the parameters");

        let mut start = Mixed64::new(&mut StdRng::seed_from_u64(2));
        start.set_training(true);
        start.reserve_batch(40).unwrap();
        let before = start.params().to_vec();
        let net = same_as_the_batch_cycle!(start, f64, 4, 2, 0.01, inputs, [1, 7, 40]);
        assert_ne!(net.params(), &before[..], "the steps moved the parameters");

        let mut start = WithUser::new(&mut StdRng::seed_from_u64(3));
        start.reserve_batch(40).unwrap();
        same_as_the_batch_cycle!(start, f64, 3, 2, 0.01, inputs, [1, 7, 40]);
    }
}

network! {
    /// Large enough for its products to be split between threads, with batches deeper than
    /// one block (256) of the products' inner dimension.
    pub struct Wide32 {
        input  x: 40;
        target y: 10;
        s1     = l1: linear(x -> 512);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 10);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

#[test]
fn a_batch_step_on_two_threads_gives_the_cycles_parameters() {
    for threads in [1, 2] {
        let mut start = Wide32::new(&mut StdRng::seed_from_u64(7));
        start.reserve_batch(300).unwrap();
        start.set_batch_threads(threads).unwrap();
        same_as_the_batch_cycle!(start, f32, 40, 10, 0.001, false, [300, 3, 257]);
    }
}

#[test]
#[should_panic(
    expected = "`train_sgd_batch` has moved the parameters since its forward pass: call `fprop_batch` before a backward pass"
)]
fn bprop_batch_after_train_sgd_batch_panics() {
    let mut net = Plain32::new(&mut StdRng::seed_from_u64(5));
    net.reserve_batch(2).unwrap();
    net.train_sgd_batch(&[[0.0; 5]; 2], &[[0.1; 3]; 2], 0.1)
        .unwrap();
    net.bprop_batch();
}

network! {
    /// Wider than `LOCAL_WIDTH`: the slice kernels, whose stack does not grow with the width.
    pub struct Broad {
        input  x: 50000;
        target y: 50000;
        h      = t: tanh(x);
        energy = euclidean(h, y);
    }
}

/// A 50,000-wide network trains on a thread with a 1 MiB stack (the network, 1.8 MB of states,
/// is made on a thread with a large stack and boxed): the kernels that copy their operands into
/// local arrays are kept for narrower states, where a sweep that inlines them all needed a stack
/// in proportion to the width (2 MiB overflowed).
#[test]
fn a_wide_network_needs_no_large_stack() {
    let on = |stack: usize, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    };
    let (tx, rx) = std::sync::mpsc::channel();
    on(
        64 << 20,
        Box::new(move || {
            tx.send(Box::new(Broad::new(&mut StdRng::seed_from_u64(6))))
                .unwrap()
        }),
    );
    let mut net = rx.recv().unwrap();
    on(
        1 << 20,
        Box::new(move || {
            let x: Box<[f32; 50000]> = vec![0.25f32; 50000].try_into().unwrap();
            let y: Box<[f32; 50000]> = vec![0.5f32; 50000].try_into().unwrap();
            let before = net.fprop(&x, &y);
            net.zero_grad();
            net.bprop();
            net.sgd_step(0.01);
            net.train_sgd(&x, &y, 0.01);
            let after = net.fprop(&x, &y);
            assert!(after < before, "{after} >= {before}");
        }),
    );
}
