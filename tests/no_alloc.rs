//! No heap allocation after construction: a counting global allocator over many training steps
//! (fprop, bprop, bbprop, update), inference, and the checked entry points, including their error path,
//! for a feed-forward network with a nested one (per sample and in minibatches), one on feature
//! maps (convolution, subsampling, max pooling) and for a network unfolded in time (per sequence
//! and in minibatches of sequences).

use bpnet::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Every thread counts (for the helper threads of split matrix products).
static EVERYONE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Only the test's own thread counts: the test harness's threads allocate when they like.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if EVERYONE.load(Ordering::SeqCst) || COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

network! {
    pub struct Inner {
        input  i: 3;
        a      = l: linear(i -> 3);
        b      = add(a, i);
        output o = t: tanh(b);
    }
}

network! {
    pub struct Net {
        input  x: 3;
        target y: 2;
        h: 3   = m: Inner(x);
        g      = l2: linear(h -> 2);
        out    = t2: tanh(g);
        energy = euclidean(out, y);
    }
}

network! {
    pub struct Elman {
        unfold 16 {
            input  x: 4;
            target y: 1;
            s      = wx: linear(x -> 8);
            c      = wh: linear(h[t - 1] -> 8);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

mod common;
common::zoo!(Zoo,);

/// An LSTM cell from the built-in kinds.
#[path = "../examples/gated/cells.rs"]
#[allow(dead_code)]
mod cells;

network! {
    /// Wide enough that its minibatch products are split across threads, and its pool of
    /// 82,210 parameters is updated and zeroed by both threads (`pool::f32::SPLIT_MIN`).
    pub struct Wide {
        input  x: 400;
        target y: 10;
        s1     = l1: linear(x -> 200);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 10);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// Dropout, in training and in evaluation.
    pub struct Dropped {
        input  x: 3;
        target y: 2;
        s      = l1: linear(x -> 8);
        h      = t1: tanh(s);
        d      = dropout(h, p = 0.25);
        out    = l2: linear(d -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// Feature maps: convolution, subsampling, max pooling.
    pub struct Maps {
        input  x: [1, 8, 8];
        target y: 2;
        c1     = k1: conv(x, maps = 3, kernel = 3, padding = 1);
        h1     = t1: tanh(c1, bias = false);
        s1     = p1: subsample(h1, size = 2);
        c2     = k2: conv(s1, maps = 4, kernel = 3, stride = 1);
        m2     = maxpool(c2, size = 2);
        out    = l: linear(m2 -> 2);
        energy = euclidean(out, y);
    }
}

/// One test (the counter is global, so nothing else may run while it counts).
#[test]
fn training_and_inference_do_not_allocate() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(1));
    let (xs, ys) = (vec![0.1f32, 0.2, 0.3], vec![0.5f32, -0.5]);
    let mut rnn = Elman::new(&mut StdRng::seed_from_u64(1));
    let seq = [[0.1f32, 0.2, 0.3, 0.4]; 16];
    let targets = [[0.5f32]; 16];
    let (seq_flat, targets_flat): (Vec<f32>, Vec<f32>) = (
        seq.iter().flatten().copied().collect(),
        targets.iter().flatten().copied().collect(),
    );

    net.reserve_batch(8).unwrap();
    let (bx, by) = ([[0.1f32, 0.2, 0.3]; 8], [[0.5f32, -0.5]; 8]);
    // Four sequences at once, as arrays and as slices.
    rnn.reserve_batch(4).unwrap();
    let (bseqs, btargets) = ([seq; 4], [targets; 4]);
    let sx: [&[[f32; 4]]; 3] = [&seq[..5]; 3];
    let sy: [&[[f32; 1]]; 3] = [&targets[..5]; 3];

    let mut zoo = Zoo::new(&mut StdRng::seed_from_u64(1));
    zoo.reserve_batch(8).unwrap();
    let (zx, zy) = ([[0.1f32, -0.2, 0.3, 0.4]; 8], [[0.5f32, -0.5, 0.1]; 8]);
    let mut gated = cells::Lstm::new(&mut StdRng::seed_from_u64(1));
    gated.reserve_batch(4).unwrap();
    let gseq = [[0.3f64, 1.0]; 8];
    let gseqs = [gseq; 4];

    let mut dropped = Dropped::new(&mut StdRng::seed_from_u64(1));
    dropped.reserve_batch(8).unwrap();
    let mut maps = Maps::new(&mut StdRng::seed_from_u64(1));
    maps.reserve_batch(8).unwrap();
    let (mx, my) = ([[0.1f32; 64]; 8], [[0.5f32, -0.5]; 8]);

    COUNTING.with(|c| c.set(true));
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for i in 0..20 {
        dropped.set_training(i % 2 == 0);
        dropped.fprop(&[0.1, 0.2, 0.3], &[0.5, -0.5]);
        dropped.zero_grad();
        dropped.bprop();
        dropped.bbprop();
        dropped.fprop_batch(&bx, &by).unwrap();
        dropped.bprop_batch();
        dropped.bbprop_batch();
        dropped.run_batch(&bx).unwrap();
        dropped.train_sgd(&[0.1, 0.2, 0.3], &[0.5, -0.5], 0.01);
        dropped.train_sgd_batch(&bx, &by, 0.01).unwrap();
        dropped.seed_dropout(i);
    }
    for i in 0..20 {
        maps.set_input_grads(i % 2 == 1);
        maps.fprop(&mx[0], &my[0]);
        maps.zero_grad();
        maps.bprop();
        maps.zero_curvature();
        maps.bbprop();
        maps.sgd_step(0.01);
        maps.train_sgd(&mx[0], &my[0], 0.01);
        maps.run(&mx[0]);
        maps.fprop_batch(&mx, &my).unwrap();
        maps.bprop_batch();
        maps.bbprop_batch();
        maps.run_batch(&mx[..3]).unwrap();
        maps.train_sgd_batch(&mx, &my, 0.01).unwrap();
        // The inference form, over the network's own pool.
        maps.freeze().run(&mx[0]);
    }
    for i in 0..50 {
        zoo.set_input_grads(i % 2 == 1);
        zoo.fprop(&zx[0], &zy[0]);
        zoo.zero_grad();
        zoo.bprop();
        zoo.bbprop();
        zoo.sgd_step(0.01);
        zoo.train_sgd(&zx[0], &zy[0], 0.01);
        zoo.run(&zx[0]);
        zoo.fprop_batch(&zx, &zy).unwrap();
        zoo.bprop_batch();
        zoo.bbprop_batch();
        zoo.run_batch(&zx[..3]).unwrap();
        zoo.train_sgd_batch(&zx, &zy, 0.01).unwrap();
        gated.set_input_grads(i % 2 == 1);
        gated.fprop(&gseq, &[0.5]).unwrap();
        gated.zero_grad();
        gated.bprop();
        gated.bbprop();
        gated.sgd_step(0.01);
        gated.fprop_batch(&gseqs, &[[0.5]; 4]).unwrap();
        gated.bprop_batch();
        gated.bbprop_batch();
        gated.run_batch(&gseqs[..2]).unwrap();
    }
    for i in 0..100 {
        // Both backward sweeps: without input gradients (the default) and with them.
        net.set_input_grads(i % 2 == 1);
        net.fprop(&[0.1, 0.2, 0.3], &[0.5, -0.5]);
        net.zero_grad();
        net.bprop();
        net.zero_curvature();
        net.bbprop();
        net.sgd_step(0.01);
        net.train_sgd(&[0.1, 0.2, 0.3], &[0.5, -0.5], 0.01);
        net.run(&[0.1, 0.2, 0.3]);
        net.try_fprop(&xs[..], &ys[..]).unwrap();
        assert!(net.try_fprop(&xs[..2], &ys[..]).is_err());
        net.try_run(&xs).unwrap();
        net.fprop_batch(&bx, &by).unwrap();
        net.zero_grad();
        net.bprop_batch();
        net.bbprop_batch();
        net.sgd_step(0.01);
        net.run_batch(&bx[..5]).unwrap();
        net.train_sgd_batch(&bx[..5], &by[..5], 0.01).unwrap();
        assert!(net.fprop_batch(&bx, &by[..7]).is_err());
        assert!(net.train_sgd_batch(&bx, &by[..7], 0.01).is_err());
    }
    for i in 0..20 {
        rnn.set_input_grads(i % 2 == 1);
        rnn.fprop(&seq, &targets).unwrap();
        rnn.zero_grad();
        rnn.bprop();
        rnn.bbprop();
        rnn.sgd_step(0.01);
        rnn.fprop(&seq[..5], &targets[..5]).unwrap();
        rnn.fprop_continued(&seq[5..], &targets[5..]).unwrap();
        rnn.bprop();
        rnn.run(&seq).unwrap();
        rnn.run_continued(&seq[..1]).unwrap();
        rnn.try_fprop(&seq_flat[..], &targets_flat[..]).unwrap();
        assert!(rnn.fprop(&seq[..3], &targets[..2]).is_err());
        let mut frozen = rnn.freeze();
        for x in &seq {
            frozen.run_step(x);
        }
        rnn.fprop_batch(&bseqs, &btargets).unwrap();
        rnn.zero_grad();
        rnn.bprop_batch();
        rnn.bbprop_batch();
        rnn.sgd_step(0.01);
        rnn.fprop_batch(&sx, &sy).unwrap();
        rnn.bprop_batch();
        rnn.run_batch(&sx[..2]).unwrap();
        rnn.fprop_batch_continued(&sx[..2], &sy[..2]).unwrap();
        rnn.bprop_batch();
        rnn.run_batch_continued(&sx[..1]).unwrap();
        assert!(rnn.run_batch_continued(&sx).is_err());
        assert!(rnn.fprop_batch(&sx, &sy[..2]).is_err());
        assert!(rnn.fprop_batch(&sx, &[&targets[..4]; 3]).is_err());
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "allocations during training");

    // Minibatch products split across two threads: nothing allocates on either thread (the
    // helper is started by `set_batch_threads`, before counting). The harness's own threads
    // are idle while this, the only test of the binary, runs.
    let mut wide = Wide::new(&mut StdRng::seed_from_u64(3));
    wide.reserve_batch(40).unwrap();
    wide.set_batch_threads(2).unwrap();
    assert_eq!(wide.batch_threads(), 2);
    let wx = vec![[0.1f32; 400]; 40];
    let wy = vec![[0.2f32; 10]; 40];
    EVERYONE.store(true, Ordering::SeqCst);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..20 {
        wide.fprop_batch(&wx, &wy).unwrap();
        wide.zero_grad();
        wide.bprop_batch();
        wide.sgd_step(0.001);
        wide.run_batch(&wx[..30]).unwrap();
        wide.train_sgd_batch(&wx, &wy, 0.001).unwrap();
    }
    let threaded = ALLOCATIONS.load(Ordering::SeqCst) - before;
    EVERYONE.store(false, Ordering::SeqCst);
    assert_eq!(
        threaded, 0,
        "allocations during threaded minibatch training"
    );
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    // The counter does count: building a network allocates its pools.
    let _other = Net::new(&mut StdRng::seed_from_u64(2));
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > after);
}
