use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 3;
        target y: 3;
        sum    = add(x, y);
        output out = t: tanh(sum);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.1, 0.2, 0.3], &[0.1, 0.2, 0.3]);
    let _ = net.run(&[0.1, 0.2, 0.3]);
}
