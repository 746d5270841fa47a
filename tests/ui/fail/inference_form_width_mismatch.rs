// Without std (the inference form alone) a mistake is reported as with std, and the code that
// uses the network adds no error of its own.
use bpnet::__private::network_inference as network;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        sum    = l: linear(x -> 4);
        out    = t: tanh(sum);
        energy = euclidean(out, y);
    }
}

static PARAMS: [f32; 12] = [0.0; 12];

fn main() {
    let mut net = Net::frozen(&PARAMS);
    let params = net.params();
    let out: &[f32] = net.run(&[0.5, -0.5]);
    let _ = (out, Net::PARAMS, params);
}
