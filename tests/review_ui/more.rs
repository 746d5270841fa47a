use bpnet::prelude::*;
network! {
    #[bpnet(float = f64)]
    struct D0 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
        h = slice(a, from = "1", to = 3);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
network! {
    struct D1 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
        h = scale(a, by = 1e39);
        g = leaky_relu(h, slope = 1e-50);
        out = lo: linear(g -> 2);
        energy = euclidean(out, y);
    }
}
network! {
    #[bpnet(float = f64)]
    struct D2 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 2);
        e = euclidean(a, y);
        energy = nll_scaled(e);
    }
}
network! {
    #[bpnet(float = f64)]
    struct D3 {
        input  x: 3;
        target y: 3;
        a = la: linear(x -> 3);
        l = nll(a, y);
        energy = scale(l, by = 0.5);
    }
}
network! {
    #[bpnet(float = f64)]
    struct D4 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
        h = slice(a, from = 1.0, to = 3);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
fn main() {}
