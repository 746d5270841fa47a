use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 2;
        sum1: 3 = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1, x);
        sum2   = linear2: linear(hidden -> 2);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, yy);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3, 0.4]);
    net.bprop();
}
