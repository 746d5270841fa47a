use bpnet::prelude::*;

network! {
    /// nn-layer as a module: IN = 3, OUT = 4.
    pub struct Layer {
        input  input: 3;
        sum    = linear: linear(input -> 4);
        output output = sigmoid: tanh(sum);
    }
}

network! {
    /// A nested layer, a built-in layer, then an energy.
    pub struct Net {
        input  x: 3;
        target y: 2;
        hidden: 4 = layer1: Layer(x);
        sum2   = linear2: linear(hidden -> 2);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

fn main() {
    assert_eq!(<Layer as Module>::IN, 3);
    assert_eq!(<Layer as Module>::OUT, 4);
    assert_eq!(Net::PARAMS, Layer::PARAMS + 4 * 2 + 2);
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let e = net.fprop(&[0.1, 0.2, 0.3], &[0.5, -0.5]);
    let want = 0.5 * ((net.out.x[0] - 0.5).powi(2) + (net.out.x[1] + 0.5).powi(2));
    assert_eq!(e, want);
    // The nested layer's own states are filled in by the outer fprop.
    assert_eq!(net.layer1.output.x, net.hidden.x);
    net.bprop();
    assert_eq!(net.layer1_grads().len(), Layer::PARAMS);
    assert!(net.layer1_grads().iter().any(|g| *g != 0.0));
}
