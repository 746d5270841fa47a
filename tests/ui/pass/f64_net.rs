use bpnet::prelude::*;

network! {
    /// The lecture's two-layer net, in double precision.
    #[bpnet(float = f64)]
    pub struct TwoLayer {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let before: f64 = net.fprop(&[0.5, -0.5], &[0.3]);
    for _ in 0..100 {
        net.fprop(&[0.5, -0.5], &[0.3]);
        net.zero_grad();
        net.bprop();
        net.sgd_step(0.1);
    }
    assert!(net.fprop(&[0.5, -0.5], &[0.3]) < before);
    assert_eq!(TwoLayer::PARAMS, 2 * 4 + 4 + 4 + 1);
    let out: &[f64; 1] = net.run(&[0.5, -0.5]);
    assert!(out[0].abs() < 1.0);
}
