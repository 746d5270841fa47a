use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        sum    = l: linear(x -> 3);
        output out = t: tanh(sum);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.run(&[0.5, -0.5]);
}
