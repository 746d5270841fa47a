// Mistake: `fprop_batch` given the batch as `(x, y)` pairs; it takes a slice of inputs and a slice
// of targets (`bpnet::train::Columns` splits pairs into them).

use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        a      = l: linear(x -> 1);
        out    = t: tanh(a);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.reserve_batch(2).unwrap();
    let batch = [([1.0, 2.0], [0.5]), ([3.0, 4.0], [-0.5])];
    let _ = net.fprop_batch(&batch);
}
