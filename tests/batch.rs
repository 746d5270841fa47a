//! Minibatches from the same declaration: the batched energy and gradient are the sums of the
//! per-sample ones (f64, to 1e-10 relative), run_batch gives each sample's output, and batches
//! larger than the reserved capacity are errors.

use bpnet::prelude::*;

mod common;

use common::{Square, bits, close, rows, rows32};

network! {
    #[bpnet(float = f64)]
    pub struct TwoLayer {
        input  x: 3;
        target y: 2;
        sum1   = l1: linear(x -> 5);
        hidden = t1: tanh(sum1);
        sum2   = l2: linear(hidden -> 2);
        out    = t2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// nn-layer as a module.
    #[bpnet(float = f64)]
    pub struct Layer {
        input  input: 4;
        sum    = linear: linear(input -> 4);
        output output = sigmoid: tanh(sum);
    }
}

network! {
    /// Fan-out (into two energies too), fan-in, a nested network and a user module.
    #[bpnet(float = f64)]
    pub struct Mixed {
        input  x: 3;
        target y: 4;
        a      = la: linear(x -> 4);
        b      = lb: linear(x -> 4);
        h: 4   = layer: Layer(a);
        q: 4   = square: Square(b);
        s      = add(h, q, a);
        out    = t: tanh(s);
        d1     = euclidean(out, y);
        d2     = euclidean(s, y);
        energy = add(d1, d2);
    }
}

network! {
    /// f32 and wide enough for the packed matrix product's blocking (and, where there is one, its
    /// AVX-512 tile).
    pub struct Wide {
        input  x: 40;
        target y: 3;
        a      = l1: linear(x -> 24);
        h      = t1: tanh(a);
        b      = l2: linear(h -> 3);
        out    = t2: tanh(b);
        energy = euclidean(out, y);
    }
}

network! {
    /// Every new module and loss in one minibatch: a sigmoid and a scaled tanh reading the input
    /// (their dx skipped with input gradients off), the four losses on shared energies and one
    /// target (fan-out into every accumulating kernel), added into the energy.
    #[bpnet(float = f64)]
    pub struct Classes {
        input  x: 3;
        target y: 4;
        g      = s0: sigmoid(x);
        u      = t0: scaled_tanh(x);
        a      = l1: linear(g -> 4);
        b      = l2: linear(u -> 4);
        out    = add(a, b);
        h      = s1: sigmoid(out);
        z      = t1: scaled_tanh(out);
        n      = nll(out, y, beta = 2.0);
        m      = hinge(h, y, margin = 0.5);
        c      = cross_entropy(z, y);
        k      = energy_loss(h, y);
        energy = add(n, m, c, k);
    }
}

network! {
    /// f32 and wide: the sigmoids over a minibatch go through the widest vectors the CPU has.
    pub struct WideClasses {
        input  x: 40;
        target y: 10;
        a      = l1: linear(x -> 24);
        h      = t1: scaled_tanh(a);
        g      = s1: sigmoid(h);
        out    = l2: linear(g -> 10);
        energy = cross_entropy(out, y);
    }
}

/// The batch's energy and gradient against the sums over its samples, for batch sizes up to the
/// capacity (and again, so nothing from a larger batch lingers).
macro_rules! check_batch {
    ($net:ty, $wx:literal, $wy:literal, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        net.set_input_grads(true);
        net.reserve_batch(8).unwrap();
        for n in [8, 3, 1, 8] {
            let (xs, ys) = (rows::<$wx>(n, &mut rng), rows::<$wy>(n, &mut rng));
            net.zero_grad();
            let mut energy = 0.0;
            let mut state_grads = Vec::new();
            for (x, y) in xs.iter().zip(&ys) {
                energy += net.fprop(x, y);
                net.bprop();
                state_grads.push((net.x.dx, net.y.dx));
            }
            let summed = net.grads().to_vec();
            net.zero_grad();
            let e = net.fprop_batch(&xs, &ys).unwrap();
            net.bprop_batch();
            assert!(
                (e - energy).abs() <= 1e-10 * energy.abs().max(1.0),
                "{e} vs {energy}"
            );
            assert!(
                close(net.grads(), &summed),
                "batch of {n}: {:?} vs {summed:?}",
                net.grads()
            );
            // Parameter gradients add up over calls, as per sample.
            net.bprop_batch();
            let doubled: Vec<f64> = summed.iter().map(|g| 2.0 * g).collect();
            assert!(
                close(net.grads(), &doubled),
                "batch of {n}: gradients do not add up"
            );
            // Each row holds its sample's states, and dE/d(input) and dE/d(target).
            for (i, x) in xs.iter().enumerate() {
                assert_eq!(net.batch().x.x[i], *x);
                let (dx, dy) = &state_grads[i];
                assert!(close(&net.batch().x.dx[i], dx), "dE/dx of sample {i}");
                assert!(close(&net.batch().y.dx[i], dy), "dE/dy of sample {i}");
            }
        }
    }};
}

#[test]
fn the_batch_gradient_is_the_sum_of_the_samples() {
    check_batch!(TwoLayer, 3, 2, 1);
}

#[test]
fn the_same_with_fan_out_nested_and_user_modules() {
    check_batch!(Mixed, 3, 4, 2);
}

#[test]
fn the_same_with_the_sigmoids_and_the_losses() {
    check_batch!(Classes, 3, 4, 8);
}

/// The output of a classifier is its scores (here logits): one row per sample, as per sample up
/// to f32 rounding (the minibatch's matrix product adds in another order).
#[test]
fn run_batch_gives_every_sample_its_scores() {
    use bpnet::kernels::loss::argmax;
    let mut rng = StdRng::seed_from_u64(9);
    let mut net = WideClasses::new(&mut rng);
    net.reserve_batch(6).unwrap();
    let xs = rows32::<40>(6, &mut rng);
    let outs = net.run_batch(&xs).unwrap().to_vec();
    for (x, out) in xs.iter().zip(&outs) {
        let one = net.run(x);
        for (a, b) in one.iter().zip(out) {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                "{one:?} vs {out:?}"
            );
        }
        assert_eq!(argmax(one), argmax(out));
    }
}

#[test]
fn run_batch_gives_every_sample_its_output() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = TwoLayer::new(&mut rng);
    net.reserve_batch(5).unwrap();
    let xs = rows::<3>(5, &mut rng);
    let outs = net.run_batch(&xs).unwrap().to_vec();
    for (x, out) in xs.iter().zip(&outs) {
        assert!(close(out, net.run(x)));
    }
}

#[test]
fn batches_are_checked() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = TwoLayer::new(&mut rng);
    let (xs, ys) = (rows::<3>(4, &mut rng), rows::<2>(4, &mut rng));
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
        net.fprop_batch(&xs[..3], &ys[..2]),
        Err(Error::Rows {
            input: "y",
            expected: 3,
            found: 2
        })
    );
    let message = net.fprop_batch(&xs[..3], &ys[..2]).unwrap_err().to_string();
    assert!(message.starts_with("batch `y` has 2 rows"), "{message}");
    assert!(net.fprop_batch(&xs[..3], &ys[..3]).is_ok());
}

/// An empty minibatch is an error (the same rule as for a minibatch of sequences), not an energy
/// of −0.0 that a mean over the batch would turn into NaN; the last batch is left as it was.
#[test]
fn an_empty_minibatch_is_an_error() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = TwoLayer::new(&mut rng);
    let (xs, ys) = (rows::<3>(2, &mut rng), rows::<2>(2, &mut rng));
    let empty = Err(Error::EmptyBatch { input: "x" });
    // Before any reserve_batch too: empty before too large.
    assert_eq!(net.fprop_batch(&[], &[]), empty);
    net.reserve_batch(4).unwrap();
    let e = net.fprop_batch(&xs, &ys).unwrap();
    assert_eq!(net.fprop_batch(&[], &[]), empty);
    assert_eq!(net.run_batch(&[]).map(<[_]>::len), empty.map(|_: f64| 0));
    // Targets alone, or inputs alone: the lengths differ.
    assert_eq!(
        net.fprop_batch(&[], &ys),
        Err(Error::Rows {
            input: "y",
            expected: 0,
            found: 2
        })
    );
    assert_eq!(net.fprop_batch(&xs, &ys), Ok(e));
}

/// With input gradients off (the default) `bprop_batch` computes dW alone for the linear modules
/// reading the input (`bprop_batch_params`: no `dX = dY W` product), skips the target's `dx`, and
/// the parameter gradients are bit for bit those of the full sweep. The input's `dx` is not
/// written: zero if never computed, then as last computed.
macro_rules! batch_params_either_way {
    ($net:ty, $wx:literal, $wy:literal, $float:ty, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        net.reserve_batch(17).unwrap();
        let cast = |rows: Vec<[f64; $wx]>| -> Vec<[$float; $wx]> {
            rows.iter().map(|r| r.map(|v| v as $float)).collect()
        };
        let cast_y = |rows: Vec<[f64; $wy]>| -> Vec<[$float; $wy]> {
            rows.iter().map(|r| r.map(|v| v as $float)).collect()
        };
        let mut last_dx: Option<Vec<[$float; $wx]>> = None;
        for (round, n) in [17, 5, 17, 1].into_iter().enumerate() {
            let (xs, ys) = (
                cast(rows::<$wx>(n, &mut rng)),
                cast_y(rows::<$wy>(n, &mut rng)),
            );
            net.fprop_batch(&xs, &ys).unwrap();
            net.set_input_grads(false);
            net.zero_grad();
            net.bprop_batch();
            let off = bits(net.grads());
            let out_dx_off = net.batch().out.dx[..n].to_vec();
            // Nothing wrote the input's dx: as it was before this sweep.
            let dx_now = net.batch().x.dx[..17].to_vec();
            match &last_dx {
                None => assert!(dx_now.iter().flatten().all(|d| *d == 0.0), "round {round}"),
                Some(last) => assert_eq!(&dx_now, last, "round {round}"),
            }
            net.set_input_grads(true);
            net.zero_grad();
            net.bprop_batch();
            assert_eq!(bits(net.grads()), off, "{} round {round}", stringify!($net));
            assert_eq!(net.batch().out.dx[..n], out_dx_off[..]);
            assert!(net.batch().x.dx[..n].iter().flatten().any(|d| *d != 0.0));
            last_dx = Some(net.batch().x.dx[..17].to_vec());
        }
    }};
}

#[test]
fn input_gradients_off_leave_batch_parameter_gradients_bit_identical() {
    batch_params_either_way!(TwoLayer, 3, 2, f64, 5);
    batch_params_either_way!(Mixed, 3, 4, f64, 6);
    batch_params_either_way!(Wide, 40, 3, f32, 7);
    batch_params_either_way!(Classes, 3, 4, f64, 10);
    batch_params_either_way!(WideClasses, 40, 10, f32, 11);
}

network! {
    /// Wide enough that its minibatch products (a million multiply-adds or more) are split
    /// across threads when asked to.
    pub struct Wider {
        input  x: 300;
        target y: 10;
        a      = l1: linear(x -> 200);
        h      = t1: tanh(a);
        b      = l2: linear(h -> 10);
        out    = t2: tanh(b);
        energy = euclidean(out, y);
    }
}

/// The products split across 2 and 3 threads give the energy, outputs, parameter gradients and
/// input gradients of one thread, bit for bit, over several training steps; the threads survive
/// `reserve_batch`.
#[test]
fn threads_change_no_bit_of_a_training_step() {
    let mut rng = StdRng::seed_from_u64(11);
    let xs = rows32::<300>(40, &mut rng);
    let ys = rows32::<10>(40, &mut rng);
    let train = |threads: usize| {
        let mut net = Wider::new(&mut StdRng::seed_from_u64(12));
        net.set_input_grads(true);
        net.set_batch_threads(threads).unwrap();
        net.reserve_batch(40).unwrap();
        assert_eq!(net.batch_threads(), threads);
        let mut seen = Vec::new();
        for n in [40, 33, 40] {
            let e = net.fprop_batch(&xs[..n], &ys[..n]).unwrap();
            net.zero_grad();
            net.bprop_batch();
            seen.extend(bits(&[e]));
            seen.extend(bits(net.grads()));
            seen.extend(bits(net.batch().x.dx[..n].as_flattened()));
            net.sgd_step(0.01);
            let out = net.run_batch(&xs[..n]).unwrap();
            seen.extend(bits(out.as_flattened()));
        }
        seen
    };
    let one = train(1);
    assert_eq!(train(2), one);
    assert_eq!(train(3), one);
}

/// `reserve_batch` chooses the threads unless `set_batch_threads` did: 2 for a batch whose
/// largest product has 8 × 2^20 multiply-adds or more on a machine with 2 cores (Wider's 300×200
/// layer on 140 rows has 8.4 million, on 100 rows 6), 1 below; and a choice
/// of the user's stays, through later reservations.
#[test]
fn reserve_batch_chooses_the_threads_unless_told() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let two = if cores >= 2 { 2 } else { 1 };
    let mut net = Wider::new(&mut StdRng::seed_from_u64(13));
    assert_eq!(net.batch_threads(), 1);
    net.reserve_batch(100).unwrap();
    assert_eq!(net.batch_threads(), 1, "6 million multiply-adds");
    net.reserve_batch(140).unwrap();
    assert_eq!(net.batch_threads(), two, "8.4 million multiply-adds");
    net.reserve_batch(100).unwrap();
    assert_eq!(net.batch_threads(), 1, "back to a small batch");
    net.set_batch_threads(1).unwrap();
    net.reserve_batch(400).unwrap();
    assert_eq!(net.batch_threads(), 1, "the user's choice stays");
    let mut copy = net.clone();
    copy.reserve_batch(400).unwrap();
    assert_eq!(copy.batch_threads(), 1, "a clone keeps the user's choice");
    let mut other = Wider::new(&mut StdRng::seed_from_u64(13));
    other.set_batch_threads(3).unwrap();
    other.reserve_batch(10).unwrap();
    assert_eq!(other.batch_threads(), 3, "the user's choice stays");
}

network! {
    /// A pool of 82,210 parameters: updated and zeroed by every thread (`pool::f32::SPLIT_MIN`).
    pub struct Widest {
        input  x: 400;
        target y: 10;
        a      = l1: linear(x -> 200);
        h      = t1: tanh(a);
        b      = l2: linear(h -> 10);
        out    = t2: tanh(b);
        energy = euclidean(out, y);
    }
}

/// A pool updated and zeroed by two threads ends at the parameters of one thread, bit for bit.
#[test]
fn a_pool_shared_by_threads_is_updated_alike() {
    const { assert!(Widest::PARAMS >= bpnet::kernels::pool::f32::SPLIT_MIN) };
    let mut rng = StdRng::seed_from_u64(14);
    let xs = rows32::<400>(24, &mut rng);
    let ys = rows32::<10>(24, &mut rng);
    let train = |threads: usize| {
        let mut net = Widest::new(&mut StdRng::seed_from_u64(15));
        net.reserve_batch(24).unwrap();
        net.set_batch_threads(threads).unwrap();
        for _ in 0..3 {
            net.fprop_batch(&xs, &ys).unwrap();
            net.zero_grad();
            net.bprop_batch();
            net.sgd_step(0.01);
        }
        bits(net.params())
    };
    let one = train(1);
    assert_ne!(
        one,
        bits(Widest::new(&mut StdRng::seed_from_u64(15)).params())
    );
    assert_eq!(train(2), one);
}
