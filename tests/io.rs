//! Saving and loading parameters as safetensors (`bpnet::io`): round trips bit for bit, the file as
//! any safetensors reader sees it, every load error from a crafted file (the network then
//! unchanged), and atomic writes that never damage the previous file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use bpnet::io::{self, LoadError, SaveError};
use bpnet::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

network! {
    /// The lecture's two-layer net, f32.
    pub struct TwoLayer {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// The same in f64.
    #[bpnet(float = f64)]
    pub struct TwoLayer64 {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// Same float and first module as TwoLayer, different widths and modules.
    pub struct Wider {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 5);
        hidden = sigmoid1: tanh(sum1);
        sum2   = head: linear(hidden -> 1);
        energy = euclidean(sum2, y);
    }
}

network! {
    /// Big enough (64 Ki parameters, 256 KiB) that writing its file takes a while.
    pub struct Big {
        input  x: 256;
        target y: 256;
        s      = lin: linear(x -> 256);
        energy = euclidean(s, y);
    }
}

network! {
    /// nn-layer: a module network.
    #[bpnet(float = f64)]
    pub struct NnLayer {
        input  input: 3;
        sum    = linear: linear(input -> 4);
        output output = sigmoid: tanh(sum);
    }
}

network! {
    /// nn-2layer built from nn-layer.
    #[bpnet(float = f64)]
    pub struct NnTwoLayer {
        input  x: 3;
        target y: 2;
        hidden: 4 = layer1: NnLayer(x);
        sum2   = linear2: linear(hidden -> 2);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A module network holding a module network: its own states are seen by no outer network.
    #[bpnet(float = f64)]
    pub struct Middle {
        input  x: 3;
        h: 4   = inner: NnLayer(x);
        output o = proj: linear(h -> 2);
    }
}

network! {
    /// Two levels of nesting.
    #[bpnet(float = f64)]
    pub struct Outer {
        input  x: 3;
        target y: 2;
        m: 2   = mid: Middle(x);
        energy = euclidean(m, y);
    }
}

/// y = s ∘ x, one trainable scale per component.
pub struct Scale3;

impl Module for Scale3 {
    type Float = f64;
    const IN: usize = 3;
    const OUT: usize = 3;
    const PARAMS: usize = 3;
    fn create() -> Self {
        Scale3
    }
    fn init<R: bpnet::rand::Rng + ?Sized>(params: &mut [f64], _rng: &mut R) {
        params.fill(1.0);
    }
    fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
        for i in 0..3 {
            y[i] = p[i] * x[i];
        }
    }
    fn bprop(
        &mut self,
        p: &[f64],
        g: &mut [f64],
        x: &[f64],
        _y: &[f64],
        dy: &[f64],
        dx: &mut [f64],
    ) {
        for i in 0..3 {
            dx[i] += p[i] * dy[i];
            g[i] += x[i] * dy[i];
        }
    }
}

network! {
    /// A user module between two built-ins.
    #[bpnet(float = f64)]
    pub struct WithUser {
        input  x: 2;
        target y: 3;
        s      = lin: linear(x -> 3);
        h: 3   = scale: Scale3(s);
        out    = act: tanh(h);
        energy = euclidean(out, y);
    }
}

network! {
    /// An unfolded net with a learned initial state.
    #[bpnet(float = f64)]
    pub struct Learned {
        unfold 4 {
            input  x: 2;
            target y: 2;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 2);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A unique path under the temporary directory, removed (file or directory) when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Temp {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        Temp(std::env::temp_dir().join(format!(
            "bpnet-io-test-{}-{n}-{tag}.safetensors",
            std::process::id()
        )))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl AsRef<Path> for Temp {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// Values whose bits a lossy round trip would change: signed zeros, subnormals, extremes, and
/// seeded random ones.
fn awkward_f64(n: usize, seed: u64) -> Vec<f64> {
    let special = [
        -0.0,
        0.0,
        f64::MIN_POSITIVE / 3.0,
        f64::MAX,
        f64::MIN,
        1.0 + f64::EPSILON,
        -1e-300,
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            special
                .get(i)
                .copied()
                .unwrap_or_else(|| rng.random_range(-3.0..3.0))
        })
        .collect()
}

fn awkward_f32(n: usize, seed: u64) -> Vec<f32> {
    let special = [
        -0.0,
        0.0,
        f32::MIN_POSITIVE / 3.0,
        f32::MAX,
        f32::MIN,
        1.0 + f32::EPSILON,
        -1e-40,
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            special
                .get(i)
                .copied()
                .unwrap_or_else(|| rng.random_range(-3.0..3.0))
        })
        .collect()
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Loads `path` into a TwoLayer that must refuse it, and checks its parameters are unchanged.
fn refuse(path: impl AsRef<Path>) -> LoadError {
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(9));
    let before = bits32(net.params());
    let err = io::load(path, &mut net).expect_err("the file must be refused");
    assert_eq!(
        bits32(net.params()),
        before,
        "a refused file changed the network"
    );
    // Every error explains itself.
    assert!(!err.to_string().is_empty());
    err
}

/// A good TwoLayer file, as bytes.
fn good_file() -> Vec<u8> {
    let t = Temp::new("good");
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(3));
    io::save(&t, &net, &[("normalize.mean", &[0.5, 0.25])], &[]).unwrap();
    std::fs::read(&t).unwrap()
}

/// A safetensors file of the given tensors, written with the plain crate API.
fn craft(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)], meta: &[(&str, &str)]) -> Vec<u8> {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let meta: HashMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The tensors of a good TwoLayer file, for crafting variants of it.
fn two_layer_tensors() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(3));
    vec![
        (
            "linear1.weight",
            Dtype::F32,
            vec![4, 2],
            f32_bytes(net.linear1_params()),
        ),
        (
            "sigmoid1.bias",
            Dtype::F32,
            vec![4],
            f32_bytes(net.sigmoid1_params()),
        ),
        (
            "linear2.weight",
            Dtype::F32,
            vec![1, 4],
            f32_bytes(net.linear2_params()),
        ),
        (
            "sigmoid2.bias",
            Dtype::F32,
            vec![1],
            f32_bytes(net.sigmoid2_params()),
        ),
    ]
}

/// A file from a raw header and data section.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn write(tag: &str, bytes: &[u8]) -> Temp {
    let t = Temp::new(tag);
    std::fs::write(&t, bytes).unwrap();
    t
}

/// The files in the temporary directory whose names contain `stem` (temporary files of a save).
fn leftovers(stem: &Path) -> Vec<PathBuf> {
    let dir = stem.parent().unwrap();
    let name = stem.file_name().unwrap().to_string_lossy().to_string();
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.contains(&name) && n.ends_with(".tmp")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Round trips.

#[test]
fn f32_network_round_trips_bit_for_bit() {
    let t = Temp::new("f32");
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f32(TwoLayer::PARAMS, 1));
    io::save(&t, &net, &[], &[]).unwrap();

    let mut copy = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    assert_ne!(bits32(copy.params()), bits32(net.params()));
    let loaded = io::load(&t, &mut copy).unwrap();
    assert_eq!(bits32(copy.params()), bits32(net.params()));
    assert!(loaded.extras.is_empty());
    // And the copy computes the same.
    let (a, b) = (
        net.fprop(&[0.5, -0.5], &[0.3]),
        copy.fprop(&[0.5, -0.5], &[0.3]),
    );
    assert_eq!(a.to_bits(), b.to_bits());
}

#[test]
fn f64_network_round_trips_bit_for_bit() {
    let t = Temp::new("f64");
    let mut net = TwoLayer64::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f64(TwoLayer64::PARAMS, 2));
    io::save(&t, &net, &[], &[]).unwrap();

    let mut copy = TwoLayer64::new(&mut StdRng::seed_from_u64(1));
    io::load(&t, &mut copy).unwrap();
    assert_eq!(bits64(copy.params()), bits64(net.params()));
    let file = std::fs::read(&t).unwrap();
    let st = SafeTensors::deserialize(&file).unwrap();
    assert_eq!(st.tensor("linear1.weight").unwrap().dtype(), Dtype::F64);
}

#[test]
fn nested_network_round_trips_with_keys_by_module_path() {
    let t = Temp::new("nested");
    let mut net = NnTwoLayer::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f64(NnTwoLayer::PARAMS, 3));
    io::save(&t, &net, &[], &[]).unwrap();

    let specs: Vec<(String, Vec<usize>)> =
        io::param_tensors(NnTwoLayer::MODULES, NnTwoLayer::STATES)
            .into_iter()
            .map(|s| (s.name, s.shape))
            .collect();
    assert_eq!(
        specs,
        [
            ("layer1.linear.weight".to_string(), vec![4, 3]),
            ("layer1.sigmoid.bias".to_string(), vec![4]),
            ("linear2.weight".to_string(), vec![2, 4]),
            ("sigmoid2.bias".to_string(), vec![2]),
        ]
    );

    let file = std::fs::read(&t).unwrap();
    let st = SafeTensors::deserialize(&file).unwrap();
    let w = st.tensor("layer1.linear.weight").unwrap();
    assert_eq!(w.shape(), [4, 3]);
    let layer1 = &net.layer1_params()[..12];
    let stored: Vec<f64> = w
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(bits64(&stored), bits64(layer1));

    let mut copy = NnTwoLayer::new(&mut StdRng::seed_from_u64(1));
    io::load(&t, &mut copy).unwrap();
    assert_eq!(bits64(copy.params()), bits64(net.params()));
}

#[test]
fn two_levels_of_nesting_get_shapes_from_the_graph() {
    // Middle's states are not in Outer::STATES: the widths of `mid.proj` and `mid.inner.*` are
    // worked out from Middle's input and output and the modules' sizes.
    let specs: Vec<(String, Vec<usize>)> = io::param_tensors(Outer::MODULES, Outer::STATES)
        .into_iter()
        .map(|s| (s.name, s.shape))
        .collect();
    assert_eq!(
        specs,
        [
            ("mid.inner.linear.weight".to_string(), vec![4, 3]),
            ("mid.inner.sigmoid.bias".to_string(), vec![4]),
            ("mid.proj.weight".to_string(), vec![2, 4]),
        ]
    );
    let t = Temp::new("outer");
    let mut net = Outer::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f64(Outer::PARAMS, 4));
    io::save(&t, &net, &[], &[]).unwrap();
    let mut copy = Outer::new(&mut StdRng::seed_from_u64(1));
    io::load(&t, &mut copy).unwrap();
    assert_eq!(bits64(copy.params()), bits64(net.params()));
}

#[test]
fn user_module_is_stored_flat_under_params() {
    let t = Temp::new("user");
    let mut net = WithUser::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f64(WithUser::PARAMS, 5));
    io::save(&t, &net, &[], &[]).unwrap();

    let file = std::fs::read(&t).unwrap();
    let st = SafeTensors::deserialize(&file).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(names, ["act.bias", "lin.weight", "scale.params"]);
    assert_eq!(st.tensor("scale.params").unwrap().shape(), [3]);
    assert_eq!(st.tensor("lin.weight").unwrap().shape(), [3, 2]);

    let mut copy = WithUser::new(&mut StdRng::seed_from_u64(1));
    io::load(&t, &mut copy).unwrap();
    assert_eq!(bits64(copy.params()), bits64(net.params()));
    assert_eq!(bits64(copy.scale_params()), bits64(net.scale_params()));
}

#[test]
fn learned_initial_state_round_trips() {
    let t = Temp::new("learned");
    let mut net = Learned::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f64(Learned::PARAMS, 6));
    io::save(&t, &net, &[], &[]).unwrap();
    let file = std::fs::read(&t).unwrap();
    let st = SafeTensors::deserialize(&file).unwrap();
    let mut names: Vec<(&str, Vec<usize>)> = st
        .names()
        .into_iter()
        .map(|n| (n, st.tensor(n).unwrap().shape().to_vec()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("h_initial.value", vec![3]),
            ("th.bias", vec![3]),
            ("wh.weight", vec![3, 3]),
            ("wo.weight", vec![2, 3]),
            ("wx.weight", vec![3, 2]),
        ]
    );
    let mut copy = Learned::new(&mut StdRng::seed_from_u64(1));
    io::load(&t, &mut copy).unwrap();
    assert_eq!(bits64(copy.params()), bits64(net.params()));
    assert_eq!(
        bits64(copy.h_initial_params()),
        bits64(net.h_initial_params())
    );
}

#[test]
fn module_network_saves_through_the_slice_api() {
    // NnLayer has no energy, so no `Network` impl: its inherent items serve.
    let t = Temp::new("module");
    let mut net = NnLayer::new(&mut StdRng::seed_from_u64(0));
    net.params_mut()
        .copy_from_slice(&awkward_f64(NnLayer::PARAMS, 7));
    io::save_params(
        &t,
        NnLayer::MODULES,
        NnLayer::STATES,
        net.params(),
        &[],
        &[("bpnet.network", "NnLayer")],
    )
    .unwrap();
    let mut copy = NnLayer::new(&mut StdRng::seed_from_u64(1));
    let loaded = io::load_params(&t, NnLayer::MODULES, NnLayer::STATES, copy.params_mut()).unwrap();
    assert_eq!(bits64(copy.params()), bits64(net.params()));
    assert_eq!(loaded.metadata["bpnet.network"], "NnLayer");
}

#[test]
fn extras_and_metadata_round_trip() {
    let t = Temp::new("extras");
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let mean = awkward_f32(2, 8);
    let scale = [2.0_f32, 0.5];
    let empty: [f32; 0] = [];
    io::save(
        &t,
        &net,
        &[
            ("normalize.mean", &mean),
            ("normalize.scale", &scale),
            ("nothing", &empty),
        ],
        &[("epochs", "12"), ("note", "ünïcode, commas; \"quotes\"")],
    )
    .unwrap();

    let mut copy = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    let loaded = io::load(&t, &mut copy).unwrap();
    let names: Vec<&str> = loaded.extras.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["normalize.mean", "normalize.scale", "nothing"]);
    assert_eq!(
        bits32(loaded.extra("normalize.mean").unwrap()),
        bits32(&mean)
    );
    assert_eq!(loaded.require("normalize.scale").unwrap(), scale);
    assert_eq!(loaded.extra("nothing"), Some(&[][..]));
    assert_eq!(loaded.extra("absent"), None);
    assert!(
        matches!(loaded.require("absent"), Err(LoadError::Missing { name }) if name == "absent")
    );
    assert_eq!(loaded.metadata["epochs"], "12");
    assert_eq!(loaded.metadata["note"], "ünïcode, commas; \"quotes\"");
    assert_eq!(loaded.metadata["bpnet.network"], "TwoLayer");
    assert_eq!(loaded.metadata["bpnet.float"], "f32");
    assert_eq!(loaded.metadata["bpnet.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(loaded.metadata["format"], "pt");
}

#[test]
fn the_file_is_plain_safetensors_as_pytorch_sees_it() {
    let t = Temp::new("plain");
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    io::save(&t, &net, &[("normalize.mean", &[1.0, 2.0])], &[]).unwrap();

    let file = std::fs::read(&t).unwrap();
    let st = SafeTensors::deserialize(&file).unwrap();
    let mut seen: Vec<(&str, Dtype, Vec<usize>)> = st
        .iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("linear1.weight", Dtype::F32, vec![4, 2]),
            ("linear2.weight", Dtype::F32, vec![1, 4]),
            ("normalize.mean", Dtype::F32, vec![2]),
            ("sigmoid1.bias", Dtype::F32, vec![4]),
            ("sigmoid2.bias", Dtype::F32, vec![1]),
        ]
    );
    let (_, header) = SafeTensors::read_metadata(&file).unwrap();
    let meta = header.metadata().as_ref().unwrap();
    assert_eq!(meta["format"], "pt");
    assert_eq!(meta["bpnet.extras"], "normalize.mean");

    // `[out, in]` means what it means in PyTorch's nn.Linear: sum1[o] = Σ_i W[o, i] · x[i].
    let w: Vec<f32> = st
        .tensor("linear1.weight")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let x = [0.5_f32, -0.25];
    net.fprop(&x, &[0.0]);
    for o in 0..4 {
        let by_hand = w[o * 2] * x[0] + w[o * 2 + 1] * x[1];
        assert!(
            (by_hand - net.sum1.x[o]).abs() <= 1e-6,
            "row {o}: {by_hand} vs {}",
            net.sum1.x[o]
        );
    }
}

#[test]
fn saving_again_replaces_the_file() {
    let t = Temp::new("replace");
    let a = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let b = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    io::save(&t, &a, &[("extra", &[1.0, 2.0, 3.0])], &[]).unwrap();
    io::save(&t, &b, &[], &[]).unwrap();
    let mut copy = TwoLayer::new(&mut StdRng::seed_from_u64(2));
    let loaded = io::load(&t, &mut copy).unwrap();
    assert_eq!(bits32(copy.params()), bits32(b.params()));
    assert!(loaded.extras.is_empty());
    assert!(leftovers(&t.0).is_empty());
}

#[cfg(unix)]
fn mode(path: impl AsRef<Path>) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: impl AsRef<Path>, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn saving_over_a_file_keeps_its_permissions() {
    let t = Temp::new("private");
    let a = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let b = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    io::save(&t, &a, &[], &[]).unwrap();
    set_mode(&t, 0o600);
    io::save(&t, &b, &[], &[]).unwrap();
    assert_eq!(
        mode(&t),
        0o600,
        "a private model was made readable by others"
    );
    let mut copy = TwoLayer::new(&mut StdRng::seed_from_u64(2));
    io::load(&t, &mut copy).unwrap();
    assert_eq!(bits32(copy.params()), bits32(b.params()));
}

#[cfg(unix)]
#[test]
fn a_new_file_gets_the_mode_of_any_new_file() {
    // The mode `File::create` gives under this process's umask.
    let reference = Temp::new("umask-reference");
    std::fs::File::create(&reference).unwrap();
    let t = Temp::new("new");
    io::save(&t, &TwoLayer::new(&mut StdRng::seed_from_u64(0)), &[], &[]).unwrap();
    assert_eq!(mode(&t), mode(&reference));
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_not_replaced() {
    // Judged by the mode bits, so that it holds for root too, who may write any file.
    let t = Temp::new("read-only");
    let a = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    io::save(&t, &a, &[], &[]).unwrap();
    let before = std::fs::read(&t).unwrap();
    set_mode(&t, 0o444);
    let b = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    match io::save(&t, &b, &[], &[]) {
        Err(e @ SaveError::Io { .. }) => {
            let SaveError::Io { source, .. } = &e else {
                unreachable!()
            };
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
            assert_eq!(
                e.to_string(),
                format!(
                    "cannot save to `{}`: the file is read-only (mode 0444): make it writable \
                     (`chmod u+w`) to replace it, or write elsewhere",
                    t.0.display()
                )
            );
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(std::fs::read(&t).unwrap(), before);
    assert_eq!(mode(&t), 0o444);
    assert!(leftovers(&t.0).is_empty());
    set_mode(&t, 0o644);
}

// ---------------------------------------------------------------------------------------------
// Load errors.

#[test]
fn missing_file_is_an_io_error_with_the_path() {
    let t = Temp::new("absent");
    match refuse(&t) {
        LoadError::Io { path, source } => {
            assert_eq!(path, t.0);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn truncated_files_are_reported_at_every_cut() {
    let good = good_file();
    // Check the good file loads, so that the cuts are what fails.
    let t = write("whole", &good);
    io::load(&t, &mut TwoLayer::new(&mut StdRng::seed_from_u64(0))).unwrap();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let cuts = [
        0,
        1,
        7,
        8,
        9,
        8 + header_len / 2,
        8 + header_len - 1,
        8 + header_len,
        8 + header_len + 3,
        good.len() - 4,
        good.len() - 1,
    ];
    for cut in cuts {
        let t = write("cut", &good[..cut]);
        match refuse(&t) {
            LoadError::Truncated { expected, found } => {
                assert_eq!(found, cut as u64, "cut at {cut}");
                assert!(expected > found, "cut at {cut}: expected {expected}");
                if cut >= 8 + header_len {
                    assert_eq!(expected, good.len() as u64, "cut at {cut}");
                }
            }
            e => panic!("cut at {cut}: {e:?}"),
        }
    }
}

#[test]
fn garbage_is_not_safetensors() {
    let text = write("text", b"hello, this is a text file and not a model\n");
    assert!(matches!(refuse(&text), LoadError::NotSafetensors { .. }));

    // A plausible length, then no JSON object.
    let mut bytes = 16u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"[not an object!]");
    let t = write("array", &bytes);
    assert!(matches!(refuse(&t), LoadError::NotSafetensors { .. }));

    let t = write("zero", &0u64.to_le_bytes());
    assert!(matches!(refuse(&t), LoadError::NotSafetensors { .. }));

    let mut rng = StdRng::seed_from_u64(10);
    let noise: Vec<u8> = (0..4096).map(|_| rng.random_range(0..=255u8)).collect();
    let t = write("noise", &noise);
    assert!(matches!(refuse(&t), LoadError::NotSafetensors { .. }));
}

#[test]
fn damaged_header_is_corrupted() {
    let t = write(
        "json",
        &raw("{\"linear1.weight\": {\"dtype\": \"F32\",", &[]),
    );
    assert!(
        matches!(refuse(&t), LoadError::Corrupted { .. }),
        "{:?}",
        refuse(&t)
    );

    let mut bytes = raw("{\"a\":{}}", &[]);
    bytes[10] = 0xff; // not UTF-8
    let t = write("utf8", &bytes);
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));

    let t = write(
        "dtype",
        &raw(
            r#"{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
    );
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));

    // A byte flipped inside the header of a good file.
    let mut good = good_file();
    let at = good.iter().position(|&b| b == b':').unwrap();
    good[at] = b'#';
    let t = write("flip", &good);
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));
}

#[test]
fn offsets_past_the_end_are_corrupted() {
    // Offsets that disagree with the shape, past the end of the data.
    let t = write(
        "offsets",
        &raw(
            r#"{"linear1.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[0,4096]}}"#,
            &[0; 32],
        ),
    );
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));

    // Not contiguous.
    let t = write(
        "gap",
        &raw(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            &[0; 12],
        ),
    );
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));

    // Offsets near usize::MAX, consistent with their shapes: the safetensors crate's own check
    // would overflow on them.
    let big = usize::MAX / 8;
    let mut header = String::from("{");
    for i in 0..8 {
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            r#""t{i}":{{"dtype":"U8","shape":[{big}],"data_offsets":[{},{}]}}"#,
            i * big,
            (i + 1) * big
        ));
    }
    header.push('}');
    let t = write("huge", &raw(&header, &[]));
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));

    // A number too long for any integer type.
    let t = write(
        "long",
        &raw(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}}"#,
            &[],
        ),
    );
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));
}

#[test]
fn bytes_after_the_last_tensor_are_corrupted() {
    let mut good = good_file();
    good.extend_from_slice(&[0; 8]);
    let t = write("trailing", &good);
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));
}

#[test]
fn wrong_shape_is_reported() {
    let mut tensors = two_layer_tensors();
    tensors[0].2 = vec![2, 4]; // transposed
    let t = write("shape", &craft(&tensors, &[]));
    match refuse(&t) {
        LoadError::Shape {
            name,
            expected,
            found,
        } => {
            assert_eq!(name, "linear1.weight");
            assert_eq!(expected, [4, 2]);
            assert_eq!(found, [2, 4]);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn missing_tensor_is_reported() {
    let mut tensors = two_layer_tensors();
    tensors.remove(1);
    let t = write("missing", &craft(&tensors, &[]));
    assert!(matches!(refuse(&t), LoadError::Missing { name } if name == "sigmoid1.bias"));

    // An extra the header lists but the file lacks.
    let t = write(
        "missing-extra",
        &craft(&two_layer_tensors(), &[("bpnet.extras", "normalize.mean")]),
    );
    assert!(matches!(refuse(&t), LoadError::Missing { name } if name == "normalize.mean"));
}

#[test]
fn unexpected_tensor_is_reported() {
    let mut tensors = two_layer_tensors();
    tensors.push(("linear3.weight", Dtype::F32, vec![1], f32_bytes(&[1.0])));
    let t = write("unexpected", &craft(&tensors, &[]));
    assert!(matches!(refuse(&t), LoadError::Unexpected { name } if name == "linear3.weight"));

    // Listed as an extra, it loads.
    let t = write(
        "listed",
        &craft(&tensors, &[("bpnet.extras", "linear3.weight")]),
    );
    let loaded = io::load(&t, &mut TwoLayer::new(&mut StdRng::seed_from_u64(0))).unwrap();
    assert_eq!(loaded.extra("linear3.weight"), Some(&[1.0][..]));

    // A parameter listed as an extra is a damaged header.
    let t = write(
        "listed-param",
        &craft(&tensors, &[("bpnet.extras", "linear1.weight")]),
    );
    assert!(matches!(refuse(&t), LoadError::Corrupted { .. }));
}

#[test]
fn wrong_dtype_is_reported() {
    // The same network in f64 saved it.
    let t = Temp::new("dtype");
    io::save(
        &t,
        &TwoLayer64::new(&mut StdRng::seed_from_u64(0)),
        &[],
        &[],
    )
    .unwrap();
    // Saved under its own name, so the error names it too.
    let LoadError::OtherNetwork { file, mismatch, .. } = refuse(&t) else {
        panic!("not named as another network's file");
    };
    assert_eq!(file, "TwoLayer64");
    match *mismatch {
        LoadError::Dtype {
            name,
            expected,
            found,
        } => {
            assert_eq!(name, "linear1.weight");
            assert_eq!(expected, "F32");
            assert_eq!(found, "F64");
        }
        e => panic!("{e:?}"),
    }

    let mut tensors = two_layer_tensors();
    tensors[3] = ("sigmoid2.bias", Dtype::BF16, vec![1], vec![0, 0]);
    let t = write("bf16", &craft(&tensors, &[]));
    assert!(
        matches!(refuse(&t), LoadError::Dtype { name, found, .. } if name == "sigmoid2.bias" && found == "BF16")
    );

    // An extra in the wrong dtype.
    let mut tensors = two_layer_tensors();
    tensors.push(("mean", Dtype::F64, vec![1], 1.0f64.to_le_bytes().to_vec()));
    let t = write("extra-dtype", &craft(&tensors, &[("bpnet.extras", "mean")]));
    assert!(matches!(refuse(&t), LoadError::Dtype { name, .. } if name == "mean"));
}

#[test]
fn file_of_another_network_is_refused() {
    let t = Temp::new("other");
    io::save(&t, &Wider::new(&mut StdRng::seed_from_u64(0)), &[], &[]).unwrap();
    // Same key, other shape: reported first, in the order of the network's parameters, inside the
    // error that names the file's network.
    match refuse(&t) {
        LoadError::OtherNetwork {
            file,
            network,
            mismatch,
        } => {
            assert_eq!((file.as_str(), network.as_str()), ("Wider", "TwoLayer"));
            assert!(
                matches!(
                    *mismatch,
                    LoadError::Shape { ref name, ref expected, ref found }
                        if name == "linear1.weight" && (expected, found) == (&vec![4, 2], &vec![5, 2])
                ),
                "{mismatch:?}"
            );
        }
        e => panic!("{e:?}"),
    }

    // A file that names the network loaded into has the mismatch alone: the name cannot be
    // what is wrong.
    let t = Temp::new("other-same-name");
    let wider = Wider::new(&mut StdRng::seed_from_u64(0));
    io::save(&t, &wider, &[], &[("bpnet.network", "TwoLayer")]).unwrap();
    assert!(matches!(refuse(&t), LoadError::Shape { name, .. } if name == "linear1.weight"));

    // And the other way round, a nested network's file into a flat one.
    let t = Temp::new("other-nested");
    io::save(
        &t,
        &NnTwoLayer::new(&mut StdRng::seed_from_u64(0)),
        &[],
        &[],
    )
    .unwrap();
    let mut net = WithUser::new(&mut StdRng::seed_from_u64(0));
    let before = bits64(net.params());
    let err = io::load(&t, &mut net).unwrap_err();
    assert!(matches!(
        err,
        LoadError::OtherNetwork { file, mismatch, .. }
            if file == "NnTwoLayer"
                && matches!(*mismatch, LoadError::Missing { ref name } if name == "lin.weight")
    ));
    assert_eq!(bits64(net.params()), before);

    // `load_params` does not know the network's name: the mismatch alone.
    let err = io::load_params(&t, WithUser::MODULES, WithUser::STATES, net.params_mut());
    assert!(matches!(err, Err(LoadError::Missing { name }) if name == "lin.weight"));
}

#[test]
fn what_main_prints_for_another_networks_file_names_both_networks() {
    let t = Temp::new("other-main");
    io::save(&t, &Wider::new(&mut StdRng::seed_from_u64(0)), &[], &[]).unwrap();
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let err: Box<dyn std::error::Error> = io::load(&t, &mut net).unwrap_err().into();
    // What `fn main() -> Result<(), Box<dyn Error>>` prints after `Error: `.
    let printed = format!("{err:?}");
    assert_eq!(
        printed,
        "the file holds network `Wider`, not `TwoLayer` (wrong file?): tensor `linear1.weight` \
         has shape [5, 2] in the file, but the network's is [4, 2]"
    );
    assert!(
        err.source()
            .is_some_and(|m| m.to_string().starts_with("tensor `linear1.weight`"))
    );
}

#[test]
fn non_finite_values_in_a_file_are_refused() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut tensors = two_layer_tensors();
        let mut w = [0.5_f32; 4];
        w[2] = bad;
        tensors[2].3 = f32_bytes(&w);
        let t = write("nan", &craft(&tensors, &[]));
        assert!(
            matches!(refuse(&t), LoadError::NonFinite { name, index: 2 } if name == "linear2.weight"),
            "{bad}"
        );
    }
}

#[test]
fn mutated_files_never_panic_and_never_half_load() {
    let good = good_file();
    let original = bits32(TwoLayer::new(&mut StdRng::seed_from_u64(3)).params());
    let mut rng = StdRng::seed_from_u64(11);
    let t = Temp::new("fuzz");
    let (mut refused, mut loaded) = (0, 0);
    for round in 0..900 {
        let mut bytes = good.clone();
        match round % 3 {
            0 => {
                for _ in 0..rng.random_range(1..4) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => bytes.truncate(rng.random_range(0..good.len())),
            _ => {
                let i = rng.random_range(0..bytes.len());
                bytes.insert(i, rng.random_range(0..=255u8));
            }
        }
        std::fs::write(&t, &bytes).unwrap();
        let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(9));
        let before = bits32(net.params());
        match io::load(&t, &mut net) {
            Ok(_) => {
                // Only a flipped bit can leave a valid file, a shorter or longer file never is;
                // and only in the header's strings (a metadata value), never in the data, which
                // the checksum covers: what loads is the saved network.
                assert_eq!(
                    round % 3,
                    0,
                    "round {round} loaded a file of {} bytes",
                    bytes.len()
                );
                assert_eq!(
                    bits32(net.params()),
                    original,
                    "round {round}: a damaged value"
                );
                loaded += 1;
            }
            Err(_) => {
                assert_eq!(bits32(net.params()), before, "round {round}");
                refused += 1;
            }
        }
    }
    assert!(
        refused > 700 && refused + loaded == 900,
        "{refused} refused, {loaded} loaded"
    );
}

// ---------------------------------------------------------------------------------------------
// The checksum.

/// The header's length and the offset of the data section of a file.
fn data_start(file: &[u8]) -> usize {
    8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize
}

#[test]
fn the_checksum_is_the_crc32_of_the_data_section() {
    let file = good_file();
    let (_, header) = SafeTensors::read_metadata(&file).unwrap();
    let stored = &header.metadata().as_ref().unwrap()["bpnet.crc32"];
    let crc = crc32fast::hash(&file[data_start(&file)..]);
    assert_eq!(stored, &format!("{crc:08x}"));
}

#[test]
fn a_flipped_bit_in_a_value_is_a_checksum_error() {
    let good = good_file();
    let crc = crc32fast::hash(&good[data_start(&good)..]);
    // The lowest bit of the first weight: still a finite number, so only the checksum sees it.
    let mut bytes = good.clone();
    bytes[data_start(&good)] ^= 1;
    let t = write("flipped", &bytes);
    match refuse(&t) {
        LoadError::Checksum { expected, found } => {
            assert_eq!(expected, crc);
            assert_eq!(found, crc32fast::hash(&bytes[data_start(&bytes)..]));
            let e = LoadError::Checksum { expected, found };
            assert_eq!(
                e.to_string(),
                format!(
                    "damaged file: its tensors' CRC32 is {found:08x}, but it was saved as \
                     {expected:08x} (restore the file from a copy; if its tensors were changed \
                     on purpose, remove its `bpnet.crc32` metadata)"
                )
            );
        }
        e => panic!("{e:?}"),
    }
    // In an extra too (the last bytes of the file), and through the slice API.
    let mut bytes = good.clone();
    *bytes.last_mut().unwrap() ^= 0x10;
    let t = write("flipped-extra", &bytes);
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(9));
    let before = bits32(net.params());
    let err =
        io::load_params(&t, TwoLayer::MODULES, TwoLayer::STATES, net.params_mut()).unwrap_err();
    assert!(matches!(err, LoadError::Checksum { .. }), "{err:?}");
    assert_eq!(bits32(net.params()), before);
}

#[test]
fn a_file_without_a_checksum_loads() {
    // As PyTorch or the safetensors crate write it: no `bpnet.crc32`.
    let t = write("no-crc", &craft(&two_layer_tensors(), &[("format", "pt")]));
    let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(9));
    let loaded = io::load(&t, &mut net).unwrap();
    assert_eq!(
        bits32(net.params()),
        bits32(TwoLayer::new(&mut StdRng::seed_from_u64(3)).params())
    );
    assert!(!loaded.metadata.contains_key("bpnet.crc32"));
}

#[test]
fn a_malformed_checksum_is_corrupted() {
    let good = good_file();
    let crc = format!("{:08x}", crc32fast::hash(&good[data_start(&good)..]));
    let upper = crc.to_uppercase();
    let long = "0".repeat(40);
    for bad in [
        "",
        "xyz",
        "0x1234ab",
        &crc[1..],
        &format!("{crc}0"),
        &upper,
        &long,
    ] {
        if bad == crc {
            continue; // an upper-case CRC of digits only
        }
        let file = craft(&two_layer_tensors(), &[("bpnet.crc32", bad)]);
        let t = write("bad-crc", &file);
        match refuse(&t) {
            LoadError::Corrupted { reason } => {
                let shown = if bad.len() > 20 {
                    format!("{}…", &bad[..20])
                } else {
                    bad.to_string()
                };
                assert_eq!(
                    reason,
                    format!(
                        "its `bpnet.crc32` metadata is `{shown}`, not a CRC32 as 8 lower-case \
                         hex digits"
                    ),
                );
            }
            e => panic!("{bad:?}: {e:?}"),
        }
    }
}

#[test]
fn callers_cannot_set_the_checksum() {
    let t = Temp::new("set-crc");
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    match io::save(&t, &net, &[], &[("bpnet.crc32", "00000000")]) {
        Err(SaveError::Name { name, .. }) => assert_eq!(name, "bpnet.crc32"),
        r => panic!("{r:?}"),
    }
    assert!(!t.0.exists());
}

// ---------------------------------------------------------------------------------------------
// The same model, the same bytes.

#[test]
fn saving_the_same_network_gives_the_same_bytes() {
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let mean = [0.5_f32, 0.25];
    let meta = [
        ("epochs", "100"),
        ("data", "xor"),
        ("lr", "0.1"),
        ("note", "\"quoted\"\n"),
    ];
    let save = |meta: &[(&str, &str)]| {
        let t = Temp::new("same");
        io::save(&t, &net, &[("normalize.mean", &mean)], meta).unwrap();
        std::fs::read(&t).unwrap()
    };
    let first = save(&meta);
    for _ in 0..10 {
        assert!(save(&meta) == first, "two saves gave different bytes");
    }
    // The metadata in another order: the same file.
    let mut reversed = meta;
    reversed.reverse();
    assert!(
        save(&reversed) == first,
        "the metadata's order changed the file"
    );
    // And the file still loads, metadata and all.
    let t = write("same-loads", &first);
    let mut copy = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    let loaded = io::load(&t, &mut copy).unwrap();
    assert_eq!(bits32(copy.params()), bits32(net.params()));
    assert_eq!(loaded.metadata["note"], "\"quoted\"\n");
    assert_eq!(loaded.metadata["epochs"], "100");
}

// ---------------------------------------------------------------------------------------------
// Save errors and atomic writes.

#[test]
fn failed_write_leaves_the_existing_file_unchanged() {
    // A path whose parent is an existing file.
    let existing = Temp::new("parent-file");
    std::fs::write(&existing, b"previous contents").unwrap();
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    let inside = existing.0.join("model.safetensors");
    match io::save(&inside, &net, &[], &[]) {
        Err(SaveError::Io { path, .. }) => assert_eq!(path, inside),
        r => panic!("{r:?}"),
    }
    assert_eq!(std::fs::read(&existing).unwrap(), b"previous contents");

    // A directory that does not exist.
    let dir = Temp::new("no-dir");
    let err = io::save(dir.0.join("model.safetensors"), &net, &[], &[]).unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }), "{err:?}");
    assert!(!dir.0.exists());

    // The target is a directory: the rename fails, the directory and its contents stay, and the
    // temporary file is removed.
    let target = Temp::new("is-dir");
    std::fs::create_dir(&target.0).unwrap();
    std::fs::write(target.0.join("keep"), b"kept").unwrap();
    let err = io::save(&target, &net, &[], &[]).unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }), "{err:?}");
    assert_eq!(std::fs::read(target.0.join("keep")).unwrap(), b"kept");
    assert!(
        leftovers(&target.0).is_empty(),
        "{:?}",
        leftovers(&target.0)
    );
}

#[test]
fn readers_never_see_a_half_written_file() {
    // A reader polls the file while it is saved over and over: each read must load as one whole
    // version (a plain truncate-and-write shows it empty or cut short).
    let t = Temp::new("race");
    let nets = [
        Big::new(&mut StdRng::seed_from_u64(0)),
        Big::new(&mut StdRng::seed_from_u64(1)),
    ];
    io::save(&t, &nets[0], &[], &[]).unwrap();

    let done = std::sync::atomic::AtomicBool::new(false);
    let reads = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut copy = Big::new(&mut StdRng::seed_from_u64(2));
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                if let Err(e) = io::load(&t, &mut copy) {
                    panic!("read {reads}: {e}");
                }
                assert!(copy.params() == nets[0].params() || copy.params() == nets[1].params());
                reads += 1;
            }
            reads
        });
        for i in 0..40 {
            io::save(&t, &nets[i % 2], &[], &[]).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 0);
    assert!(leftovers(&t.0).is_empty());
}

#[test]
fn refused_save_keeps_the_previous_model() {
    let t = Temp::new("keep");
    let good = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    io::save(&t, &good, &[], &[]).unwrap();
    let before = std::fs::read(&t).unwrap();

    // A diverged network.
    let mut diverged = TwoLayer::new(&mut StdRng::seed_from_u64(1));
    diverged.params_mut()[5] = f32::NAN;
    match io::save(&t, &diverged, &[], &[]) {
        Err(SaveError::NonFinite { name, index }) => {
            assert_eq!(name, "linear1.weight");
            assert_eq!(index, 5);
        }
        r => panic!("{r:?}"),
    }
    // A non-finite extra.
    let err = io::save(&t, &good, &[("scale", &[1.0, f32::INFINITY])], &[]).unwrap_err();
    assert!(matches!(err, SaveError::NonFinite { name, index: 1 } if name == "scale"));

    // Names that cannot be stored.
    for (extras, meta) in [
        (vec![("", &[1.0_f32][..])], vec![]),
        (vec![("a,b", &[1.0][..])], vec![]),
        (vec![("__metadata__", &[1.0][..])], vec![]),
        (vec![("linear1.weight", &[1.0][..])], vec![]),
        (vec![("m", &[1.0][..]), ("m", &[2.0][..])], vec![]),
        (vec![], vec![("format", "np")]),
        (vec![], vec![("bpnet.extras", "x")]),
        (vec![], vec![("k", "1"), ("k", "2")]),
    ] {
        let err = io::save(&t, &good, &extras, &meta).unwrap_err();
        assert!(matches!(err, SaveError::Name { .. }), "{err:?}");
    }

    // Modules that do not describe the pool.
    let err = io::save_params(
        &t,
        TwoLayer::MODULES,
        TwoLayer::STATES,
        &[0.0_f32; 3],
        &[],
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, SaveError::Layout { .. }), "{err:?}");

    assert_eq!(std::fs::read(&t).unwrap(), before);
    assert!(leftovers(&t.0).is_empty());
}

#[test]
fn load_into_a_pool_of_another_length_is_a_layout_error() {
    let t = Temp::new("layout");
    io::save(&t, &TwoLayer::new(&mut StdRng::seed_from_u64(0)), &[], &[]).unwrap();
    let mut pool = [7.0_f32; 3];
    let err = io::load_params(&t, TwoLayer::MODULES, TwoLayer::STATES, &mut pool).unwrap_err();
    assert!(matches!(err, LoadError::Layout { .. }), "{err:?}");
    assert_eq!(pool, [7.0; 3]);
}

#[test]
fn caller_may_name_the_network() {
    let t = Temp::new("named");
    let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
    io::save(&t, &net, &[], &[("bpnet.network", "digits-v2")]).unwrap();
    let loaded = io::load(&t, &mut TwoLayer::new(&mut StdRng::seed_from_u64(1))).unwrap();
    assert_eq!(loaded.metadata["bpnet.network"], "digits-v2");
}
