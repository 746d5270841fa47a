use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        sum    = l: linear(x -> 4);
        out    = t: tanh(sum);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.zero_grad();
    let _ = net.out.x;
}
