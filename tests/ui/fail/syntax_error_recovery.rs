use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        sum1: 3 = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden => 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.bprop();
    let _ = net.linear1_params();
    let _ = net.linear2_params();
    net.set_input_grads(true);
    let _ = net.input_grads();
    Network::set_input_grads(&mut net, false);
}
