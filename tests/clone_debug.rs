//! Generated networks are `Clone` (a copy of the best model, an ensemble) and `Debug` (a
//! summary, not their values), with user modules that are neither.

mod common;

use bpnet::prelude::*;
use common::{Square, rows};

common::small_nets!();

/// A user module that is `Clone`.
#[derive(Clone)]
pub struct Twice;

impl Module for Twice {
    type Float = f64;
    const IN: usize = 3;
    const OUT: usize = 3;
    const PARAMS: usize = 0;
    fn create() -> Self {
        Twice
    }
    fn init<R: Rng + ?Sized>(_: &mut [f64], _: &mut R) {}
    fn fprop(&mut self, _: &[f64], x: &[f64], y: &mut [f64]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = 2.0 * x;
        }
    }
    fn bprop(
        &mut self,
        _: &[f64],
        _: &mut [f64],
        _: &[f64],
        _: &[f64],
        dy: &[f64],
        dx: &mut [f64],
    ) {
        for (dx, dy) in dx.iter_mut().zip(dy) {
            *dx += 2.0 * dy;
        }
    }
}

network! {
    /// With a user module: `Clone` as its module is.
    #[bpnet(float = f64)]
    pub struct WithTwice {
        input  x: 2;
        target y: 3;
        s      = l: linear(x -> 3);
        d: 3   = twice: Twice(s);
        energy = euclidean(d, y);
    }
}

network! {
    /// With `Square`, which is not `Clone`: the network still compiles, without `clone`.
    #[bpnet(float = f64)]
    pub struct WithSquare {
        input  x: 2;
        target y: 4;
        s      = l: linear(x -> 4);
        q: 4   = square: Square(s);
        energy = euclidean(q, y);
    }
}

/// A clone is the same network, independent of the original, minibatch room included.
#[test]
fn a_clone_is_an_independent_copy() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut net = Net::new(&mut rng);
    net.reserve_batch(8).unwrap();
    net.set_batch_threads(2).unwrap();
    let (xs, ys) = (rows::<2>(8, &mut rng), rows::<1>(8, &mut rng));
    let e = net.fprop_batch(&xs, &ys).unwrap();
    net.bprop_batch();
    let mut copy = net.clone();
    assert_eq!(copy.params(), net.params());
    assert_eq!(copy.grads(), net.grads());
    assert_eq!(copy.batch_threads(), 1);
    // The last minibatch came along: bprop_batch goes on from it.
    copy.bprop_batch();
    net.bprop_batch();
    assert_eq!(copy.grads(), net.grads());
    // Room for 8 rows without reserve_batch, the same energy.
    assert_eq!(copy.fprop_batch(&xs, &ys).unwrap(), e);
    // Independent: training the copy leaves the original as it was.
    let before = net.params().to_vec();
    copy.sgd_step(0.5);
    assert_ne!(copy.params(), net.params());
    assert_eq!(net.params(), before);
    let mut again = copy.clone();
    assert_eq!(copy.run(&xs[0]), again.run(&xs[0]));
}

/// The pools start on a cache line, in the original and in a clone (see `bpnet::__private::
/// AlignedVec`: a small network's speed then does not depend on where the allocator put them).
#[test]
fn the_pools_start_on_a_cache_line() {
    let mut rng = StdRng::seed_from_u64(1);
    let nets: Vec<Net> = (0..8).map(|_| Net::new(&mut rng)).collect();
    for net in nets
        .iter()
        .chain(nets.iter().map(Clone::clone).collect::<Vec<_>>().iter())
    {
        assert_eq!(net.params().as_ptr() as usize % 64, 0);
        assert_eq!(net.grads().as_ptr() as usize % 64, 0);
        assert_eq!(net.curvature().as_ptr() as usize % 64, 0);
    }
    let elman = Elman::new(&mut rng);
    assert_eq!(elman.params().as_ptr() as usize % 64, 0);
}

#[test]
fn an_unfolded_clone_continues_where_its_original_was() {
    let mut net = Elman::new(&mut StdRng::seed_from_u64(1));
    net.fprop(&[[0.3], [0.1]], &[[0.2], [0.0]]).unwrap();
    let mut copy = net.clone();
    let (a, b) = (
        net.fprop_continued(&[[0.5]], &[[0.4]]).unwrap(),
        copy.fprop_continued(&[[0.5]], &[[0.4]]).unwrap(),
    );
    assert_eq!(a, b);
    net.bprop();
    copy.bprop();
    assert_eq!(net.grads(), copy.grads());
}

#[test]
fn a_user_module_that_is_clone_is_cloned() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut net = WithTwice::new(&mut rng);
    net.reserve_batch(2).unwrap();
    let copy = net.clone();
    let (x, y) = ([0.4, -0.1], [0.1, 0.2, 0.3]);
    assert_eq!(net.fprop(&x, &y), copy.clone().fprop(&x, &y));
}

/// `Debug` names what the network is made of, in one line; `{:#?}` one entry per line.
#[test]
fn debug_is_a_summary() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(3));
    net.reserve_batch(16).unwrap();
    assert_eq!(
        format!("{net:?}"),
        "Net { inputs: [x: 2], targets: [y: 1], modules: [l1: linear(x) -> s, 6 params, t1: \
         tanh(s) -> h, 3 params, l2: linear(h) -> out, 3 params, energy: euclidean(out, y) -> \
         energy], params: 12, batch_capacity: 16 }"
    );
    let pretty = format!("{net:#?}");
    assert!(
        pretty.contains("\n        t1: tanh(s) -> h, 3 params,\n"),
        "{pretty}"
    );
    assert_eq!(
        format!("{:?}", net.batch()),
        "NetBatch { capacity: 16, .. }"
    );
    let with_square = WithSquare::new(&mut StdRng::seed_from_u64(4));
    let text = format!("{with_square:?}");
    assert!(text.contains("square: Square(s) -> q, 4 params"), "{text}");
    assert!(
        format!("{:?}", Elman::new(&mut StdRng::seed_from_u64(5)))
            .starts_with("Elman { inputs: [x: 1], targets: [y: 1]")
    );
}
