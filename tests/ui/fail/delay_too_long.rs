// Mistake: a delay as long as the unfolding.
use bpnet::prelude::*;

network! {
    pub struct Net {
        unfold 4 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 4] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.set_input_grads(true);
    let _ = net.fprop(&[[0.5]], &[[0.1]]);
    let _: bool = net.input_grads();
    net.reserve_batch(2).unwrap();
    let _ = net.fprop_batch(&[[[0.5]], [[0.2]]], &[vec![[0.1]], vec![[0.3]]]);
    net.bprop_batch();
    let _ = net.fprop_batch_continued(&[[[0.5]]], &[[[0.1]]]);
    let _ = net.run_batch_continued(&[[[0.5]]]).map(|o| o.steps());
    if let Ok(out) = net.run_batch(&[[[0.5]]]) {
        let _ = (out.step(0), out.rows());
    }
}
