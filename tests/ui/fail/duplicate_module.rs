use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        sum1   = layer: linear(x -> 4);
        hidden = t1: tanh(sum1);
        sum2   = layer: linear(hidden -> 1);
        out    = t2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.bprop();
    let _ = net.layer_params();
}
