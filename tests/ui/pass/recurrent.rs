// An Elman network with a learned initial state: trained for a few steps, run step by step.
use bpnet::prelude::*;

network! {
    pub struct Elman {
        unfold 8 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            a      = add(s, c);
            h      = th: tanh(a);
            out    = wo: linear(h -> 1);
            e      = euclidean(out, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

fn main() {
    let mut net = Elman::new(&mut StdRng::seed_from_u64(0));
    let xs: Vec<[f32; 1]> = (0..8).map(|t| [(t as f32 * 0.7).sin()]).collect();
    let ys: Vec<[f32; 1]> = (1..9).map(|t| [(t as f32 * 0.7).sin()]).collect();
    let first = net.fprop(&xs, &ys).unwrap();
    for _ in 0..50 {
        net.fprop(&xs, &ys).unwrap();
        net.zero_grad();
        net.bprop();
        net.sgd_step(0.05);
    }
    assert!(net.fprop(&xs, &ys).unwrap() < first);
    assert!(net.h_initial_grads().iter().any(|g| *g != 0.0));
    // Minibatches of sequences: two sequences of 8 steps, then of 3.
    net.reserve_batch(2).unwrap();
    let shifted: Vec<[f32; 1]> = xs.iter().map(|x| [x[0] * 0.5]).collect();
    let before = net.fprop_batch(&[&xs, &shifted], &[&ys, &ys]).unwrap();
    for _ in 0..50 {
        net.fprop_batch(&[&xs, &shifted], &[&ys, &ys]).unwrap();
        net.zero_grad();
        net.bprop_batch();
        net.sgd_step(0.025);
    }
    assert!(net.fprop_batch(&[&xs, &shifted], &[&ys, &ys]).unwrap() < before);
    let outs = net.run_batch(&[&xs[..3], &shifted[..3]]).unwrap();
    assert_eq!((outs.steps(), outs.rows()), (3, 2));
    net.run(&xs[..1]).unwrap();
    for x in &xs[1..] {
        let out = net.run_continued(std::slice::from_ref(x)).unwrap();
        assert_eq!(out.len(), 1);
    }
}
