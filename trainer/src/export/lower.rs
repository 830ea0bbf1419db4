//! A CKResNet or GCNN as a plain CNN: its layers, in the order of their forward passes
//! (core/src/models/ckresnet.rs, gcnn.rs), each turned into ONNX nodes at the elements of
//! the most-likely evaluation.
//!
//! The elements are those `ForwardCtx::most_likely` makes the layers choose, asked of
//! the layers themselves (`LiftingConv::sample_elements`, `GroupConv::output_elements`)
//! for a batch of one image, and the kernels are the layers' own
//! (`LiftingConv::kernel`, `GroupConv::kernel`, `PointwiseGroupConv::kernel`) at those
//! elements; only their rows are reordered, from pgcnn's sample-major `(n, c)` to the
//! channel-major `(c, n)` of the `[B, C·N, H, W]` activations (see
//! [`super::metadata::LAYOUT`]).

use super::graph::{attr_float, attr_int, GraphBuilder};
use super::metadata::LayerElements;
use anyhow::{bail, Context, Result};
use pgcnn_core::layers::{
    ForwardCtx, GroupConv, GroupMap, LiftingConv, PointwiseGroupConv, PER_SAMPLE_NORM_EPS,
};
use pgcnn_core::models::{CKResBlock, CKResNet, Gcnn, Linear, Model, Net, Norm};
use pgcnn_core::rng::Rng;
use pgcnn_core::{Backend, Elements, Padding, Tensor};

/// A map on the group inside the graph: the value `[B, C·N, H, W]`, its C, its fixed
/// elements (N of them) and its H, W.
#[derive(Clone, Debug)]
struct Map<B: Backend> {
    value: String,
    channels: usize,
    elements: Elements<B, f32>,
    hw: [usize; 2],
}

impl<B: Backend> Map<B> {
    /// C·N, the channels of the ONNX value.
    fn width(&self) -> usize {
        self.channels * self.elements.len()
    }
    /// The same map as another value of the same layout.
    fn with_value(&self, value: String) -> Self {
        Map {
            value,
            ..self.clone()
        }
    }
}

/// The network as a graph: nodes and constants, the input and output names, and the
/// elements every convolution used.
pub struct Lowered {
    pub graph: GraphBuilder,
    pub input: String,
    pub output: String,
    pub layers: Vec<LayerElements>,
}

/// Lowers `model` (a CKResNet or a GCNN) to a graph from `images` `[B, Cin, H, W]` to
/// `logits` `[B, classes]`.
pub fn lower<B: Backend>(backend: &B, model: &Model<B, f32>) -> Result<Lowered> {
    let mut l = Lowerer {
        backend: backend.clone(),
        g: GraphBuilder::new(),
        ctx: ForwardCtx::most_likely(Rng::seed(0)),
        layers: Vec::new(),
    };
    let input = l.g.fresh("images");
    let hw = model.config().image_hw;
    let output = match model.net() {
        Net::CKResNet(n) => l.ckresnet(n, &input, hw)?,
        Net::Gcnn(n) => l.gcnn(n, &input, hw)?,
        Net::Augerino(_) => bail!(
            "an Augerino baseline turns its input by bilinear resampling at learned angles \
             and averages its network over the copies; pgcnn export writes CKResNet and \
             GCNN models only"
        ),
    };
    Ok(Lowered {
        graph: l.g,
        input,
        output,
        layers: l.layers,
    })
}

struct Lowerer<B: Backend> {
    backend: B,
    g: GraphBuilder,
    /// The most-likely evaluation: never draws, so its generator is never used.
    ctx: ForwardCtx<B, f32>,
    layers: Vec<LayerElements>,
}

/// `[N·C, rest]` values in rows `(n, c)` (sample-major, as pgcnn's kernels) reordered to
/// rows `(c, n)` (channel-major, as the `[B, C·N, H, W]` activations).
fn channel_major(values: &[f32], n: usize, c: usize, rest: usize) -> Result<Vec<f32>> {
    if values.len() != n * c * rest {
        bail!(
            "internal error: {} kernel values for {n} samples × {c} channels × {rest}",
            values.len()
        );
    }
    let mut out = vec![0.0; values.len()];
    for s in 0..n {
        for ch in 0..c {
            let src = (s * c + ch) * rest;
            let dst = (ch * n + s) * rest;
            out[dst..dst + rest].copy_from_slice(&values[src..src + rest]);
        }
    }
    Ok(out)
}

/// A per-channel vector `[C]` repeated for each of `n` samples: `[C·N]`, channel-major.
fn per_sample(values: &[f32], n: usize) -> Vec<f32> {
    values
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, n))
        .collect()
}

/// The zeros a convolution pads each side with, and its output `[H, W]`.
fn padding(
    padding: Padding,
    k: usize,
    hw: [usize; 2],
    layer: &str,
) -> Result<([usize; 2], [usize; 2])> {
    let pad = match padding {
        Padding::Same => [k / 2, k / 2],
        Padding::Valid => [0, 0],
        Padding::Explicit { h, w } => [h, w],
    };
    let out = [0, 1].map(|a| (hw[a] + 2 * pad[a]).checked_sub(k - 1));
    match out {
        [Some(h), Some(w)] if h > 0 && w > 0 => Ok((pad, [h, w])),
        _ => bail!(
            "{layer}: a {}×{} map is smaller than the {k}×{k} kernel",
            hw[0],
            hw[1]
        ),
    }
}

impl<B: Backend> Lowerer<B> {
    /// A most-likely draw as one set of elements for the whole batch. A layer that draws
    /// per image gives one row per image; a most-likely pass takes every grid without its
    /// random offset and shares keep decisions across the batch, so all rows are equal
    /// (checked), and every image of a batch uses the one set.
    fn fixed(&self, e: Elements<B, f32>, layer: &str) -> Result<Elements<B, f32>> {
        let Some(rows) = e.batch() else {
            return Ok(e);
        };
        let n = e.len();
        let r = e.rotation_values();
        let m = e.mirror_values();
        for row in 1..rows {
            let same = r[row * n..(row + 1) * n] == r[..n]
                && m.is_none_or(|m| m[row * n..(row + 1) * n] == m[..n]);
            if !same {
                bail!(
                    "{layer}: the most-likely elements differ between images, so no one \
                     plain CNN computes this model"
                );
            }
        }
        Ok(Elements::from_values(
            &self.backend,
            e.kind(),
            &r[..n],
            m.map(|m| &m[..n]),
            None,
        )?)
    }

    /// Records the elements a layer's output lives on.
    fn record(
        &mut self,
        layer: &str,
        e: &Elements<B, f32>,
        learned: Option<pgcnn_core::group::PartialReport>,
    ) {
        let n = e.len();
        self.layers.push(LayerElements {
            layer: layer.into(),
            group: e.kind(),
            rotations: e.rotation_values()[..n].to_vec(),
            mirrored: match e.mirror_values() {
                Some(m) => m[..n].iter().map(|&v| v < 0.0).collect(),
                None => vec![false; n],
            },
            learned,
        });
    }

    /// One Conv from `x` with weight `[Cout·Nout, Cin·Nin, k, k]` (channel-major rows)
    /// and an optional bias `[Cout·Nout]`; returns the output value and its `[H, W]`.
    fn conv(
        &mut self,
        name: &str,
        x: &str,
        weight: (&[usize; 4], &[f32]),
        bias: Option<&[f32]>,
        pad_mode: Padding,
        hw: [usize; 2],
    ) -> Result<(String, [usize; 2])> {
        let (dims, values) = weight;
        let k = dims[2];
        let (pad, out_hw) = padding(pad_mode, k, hw, name)?;
        let w = self.g.constant(&format!("{name}.weight"), dims, values)?;
        let b = match bias {
            Some(b) => Some(self.g.constant(&format!("{name}.bias"), &[b.len()], b)?),
            None => None,
        };
        let y = self.g.conv(name, x, &w, b.as_deref(), k, pad);
        Ok((y, out_hw))
    }

    /// The lifting convolution at its most-likely elements.
    fn lift(&mut self, lift: &LiftingConv<B, f32>, images: &str, hw: [usize; 2]) -> Result<Map<B>> {
        let cfg = lift.config();
        let drawn = lift.sample_elements(1, &mut self.ctx)?;
        let elements = self.fixed(drawn, "lift")?;
        let (n, co, ci, k) = (
            elements.len(),
            cfg.out_channels,
            cfg.in_channels,
            cfg.kernel_size,
        );
        let kernel = lift.kernel(&elements)?.to_vec()?;
        let w = channel_major(&kernel, n, co, ci * k * k)?;
        let bias = match lift.bias() {
            Some(b) => Some(per_sample(&b.tensor().to_vec()?, n)),
            None => None,
        };
        self.record("lift", &elements, None);
        let (value, hw) = self.conv(
            "lift",
            images,
            (&[co * n, ci, k, k], &w),
            bias.as_deref(),
            cfg.padding,
            hw,
        )?;
        Ok(Map {
            value,
            channels: co,
            elements,
            hw,
        })
    }

    /// A (partial) group convolution at its most-likely output elements.
    fn group_conv(&mut self, conv: &GroupConv<B, f32>, x: &Map<B>, name: &str) -> Result<Map<B>> {
        let cfg = conv.config();
        let nin = x.elements.len();
        // The layer picks its output elements from its input's (and its batch size).
        let probe = GroupMap::new(
            Tensor::zeros(&self.backend, [1, x.channels, nin, 1, 1])?,
            x.elements.clone(),
        )?;
        let drawn = conv.output_elements(&probe, &mut self.ctx)?;
        if drawn.gates.is_some() {
            bail!("internal error: {name}: a most-likely pass drew keep decisions");
        }
        let out = self.fixed(drawn.elements, name)?;
        let (nout, co, ci, k) = (
            out.len(),
            cfg.out_channels,
            cfg.in_channels,
            cfg.kernel_size,
        );
        let kernel = conv.kernel(&out, &x.elements)?.to_vec()?;
        let w = channel_major(&kernel, nout, co, ci * nin * k * k)?;
        let bias = match conv.bias() {
            Some(b) => Some(per_sample(&b.tensor().to_vec()?, nout)),
            None => None,
        };
        self.record(name, &out, conv.partial_report()?);
        let (value, hw) = self.conv(
            name,
            &x.value,
            (&[co * nout, ci * nin, k, k], &w),
            bias.as_deref(),
            cfg.padding,
            x.hw,
        )?;
        Ok(Map {
            value,
            channels: co,
            elements: out,
            hw,
        })
    }

    /// A pointwise group convolution (a residual shortcut) onto the elements `out`.
    fn pointwise(
        &mut self,
        conv: &PointwiseGroupConv<B, f32>,
        x: &Map<B>,
        out: &Elements<B, f32>,
        name: &str,
    ) -> Result<Map<B>> {
        let cfg = conv.config();
        let (nin, nout, co, ci) = (
            x.elements.len(),
            out.len(),
            cfg.out_channels,
            cfg.in_channels,
        );
        let kernel = conv.kernel(out, &x.elements)?.to_vec()?;
        let w = channel_major(&kernel, nout, co, ci * nin)?;
        self.record(name, out, None);
        let (value, hw) = self.conv(
            name,
            &x.value,
            (&[co * nout, ci * nin, 1, 1], &w),
            None,
            Padding::Same,
            x.hw,
        )?;
        Ok(Map {
            value,
            channels: co,
            elements: out.clone(),
            hw,
        })
    }

    /// `(x - mean) / sqrt(var + eps)`, mean and (biased) variance over `axes`.
    fn normalize(&mut self, x: &str, axes: &[i64], eps: f64, name: &str) -> Result<String> {
        let g = &mut self.g;
        let mean = g.reduce("ReduceMean", &format!("{name}.mean"), x, axes, true);
        let centred = g.binary("Sub", &format!("{name}.centred"), x, &mean);
        let squared = g.binary("Mul", &format!("{name}.squared"), &centred, &centred);
        let var = g.reduce("ReduceMean", &format!("{name}.var"), &squared, axes, true);
        let eps = g.constant(&format!("{name}.eps"), &[1], &[eps as f32])?;
        let shifted = g.binary("Add", &format!("{name}.var_eps"), &var, &eps);
        let std = g.unary("Sqrt", &format!("{name}.std"), &shifted);
        Ok(g.binary("Div", name, &centred, &std))
    }

    /// The norm of the lifting layer, a block or the last convolution: a batch norm with
    /// its running statistics, or a layer norm over (C, N, H, W).
    fn norm(&mut self, norm: &Norm<B, f32>, x: &Map<B>, name: &str) -> Result<Map<B>> {
        let n = x.elements.len();
        let cn = x.width();
        let rep = |t: &Tensor<B, f32>| -> Result<Vec<f32>> { Ok(per_sample(&t.to_vec()?, n)) };
        let value = match norm {
            Norm::Batch(bn) => {
                let stats = bn.stats();
                let mut inputs = vec![x.value.clone()];
                for (part, t) in [
                    ("scale", bn.gamma()),
                    ("bias", bn.beta()),
                    ("mean", stats.mean()),
                    ("var", stats.var()),
                ] {
                    inputs.push(
                        self.g
                            .constant(&format!("{name}.{part}"), &[cn], &rep(t)?)?,
                    );
                }
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                self.g.node(
                    "BatchNormalization",
                    name,
                    &inputs,
                    vec![attr_float("epsilon", bn.eps() as f32)],
                )
            }
            Norm::Layer(ln) => {
                let y = self.normalize(
                    &x.value,
                    &[1, 2, 3],
                    ln.eps(),
                    &format!("{name}.normalized"),
                )?;
                let gamma =
                    self.g
                        .constant(&format!("{name}.scale"), &[1, cn, 1, 1], &rep(ln.gamma())?)?;
                let beta =
                    self.g
                        .constant(&format!("{name}.bias"), &[1, cn, 1, 1], &rep(ln.beta())?)?;
                let scaled = self.g.binary("Mul", &format!("{name}.scaled"), &y, &gamma);
                self.g.binary("Add", name, &scaled, &beta)
            }
        };
        Ok(x.with_value(value))
    }

    /// The parameter-free norm over (N, H, W) per image and channel inside residual
    /// blocks.
    fn per_sample_norm(&mut self, x: &Map<B>, name: &str) -> Result<Map<B>> {
        let grouped = self.g.reshape(
            &format!("{name}.grouped"),
            &x.value,
            &[0, x.channels as i64, -1],
        );
        let y = self.normalize(
            &grouped,
            &[2],
            PER_SAMPLE_NORM_EPS,
            &format!("{name}.normalized"),
        )?;
        let [h, w] = x.hw;
        let value = self
            .g
            .reshape(name, &y, &[0, x.width() as i64, h as i64, w as i64]);
        Ok(x.with_value(value))
    }

    fn relu(&mut self, x: &Map<B>, name: &str) -> Map<B> {
        let value = self.g.unary("Relu", name, &x.value);
        x.with_value(value)
    }

    /// 2×2 max pool, stride 2, on every sample.
    fn pool(&mut self, x: &Map<B>, name: &str) -> Result<Map<B>> {
        let [h, w] = x.hw;
        if h < 2 || w < 2 {
            bail!("{name}: a {h}×{w} map is too small to pool");
        }
        let value = self.g.max_pool(name, &x.value);
        Ok(Map {
            value,
            hw: [h / 2, w / 2],
            ..x.clone()
        })
    }

    /// Max or mean (`op`: `ReduceMax`, `ReduceMean`) over (N, H, W): `[B, C]`.
    fn global_pool(&mut self, op: &str, x: &Map<B>, name: &str) -> String {
        let grouped = self.g.reshape(
            &format!("{name}.grouped"),
            &x.value,
            &[0, x.channels as i64, -1],
        );
        self.g.reduce(op, name, &grouped, &[2], false)
    }

    /// `last_conv_T2`: the mean over the samples, a map on the identity alone.
    fn mean_over_samples(&mut self, x: &Map<B>, identity: Elements<B, f32>, name: &str) -> Map<B> {
        let (c, n) = (x.channels as i64, x.elements.len() as i64);
        let [h, w] = x.hw.map(|v| v as i64);
        let grouped = self
            .g
            .reshape(&format!("{name}.grouped"), &x.value, &[0, c, n, -1]);
        let mean = self
            .g
            .reduce("ReduceMean", &format!("{name}.mean"), &grouped, &[2], true);
        let value = self.g.reshape(name, &mean, &[0, c, h, w]);
        Map {
            value,
            channels: x.channels,
            elements: identity,
            hw: x.hw,
        }
    }

    /// `learnable_final_pooling`: a linear map from samples × positions to one value per
    /// channel, `[B, C]`.
    fn learned_pool(&mut self, pool: &Linear<B, f32>, x: &Map<B>, name: &str) -> Result<String> {
        let [h, w] = x.hw;
        let inputs = x.elements.len() * h * w;
        if pool.weight().dims() != [1, inputs] {
            bail!(
                "{name}: the learned pooling takes {:?} inputs, the map has {inputs} \
                 (samples × positions)",
                pool.weight().dims()
            );
        }
        let c = x.channels as i64;
        let grouped = self
            .g
            .reshape(&format!("{name}.grouped"), &x.value, &[0, c, -1]);
        // W [1, in] as [in, 1]: the same values.
        let weight = self.g.constant(
            &format!("{name}.weight"),
            &[inputs, 1],
            &pool.weight().to_vec()?,
        )?;
        let bias = self
            .g
            .constant(&format!("{name}.bias"), &[1], &pool.bias().to_vec()?)?;
        let product = self
            .g
            .binary("MatMul", &format!("{name}.product"), &grouped, &weight);
        let sum = self
            .g
            .binary("Add", &format!("{name}.sum"), &product, &bias);
        Ok(self.g.reshape(name, &sum, &[0, c]))
    }

    /// The classifier `x·Wᵀ + b`, the graph's output `logits`.
    fn head(&mut self, head: &Linear<B, f32>, x: &str) -> Result<String> {
        let dims = head.weight().dims().to_vec();
        let w = self
            .g
            .constant("head.weight", &dims, &head.weight().to_vec()?)?;
        let b = self
            .g
            .constant("head.bias", &[dims[0]], &head.bias().to_vec()?)?;
        let logits = self
            .g
            .node("Gemm", "logits", &[x, &w, &b], vec![attr_int("transB", 1)]);
        if logits != "logits" {
            bail!("internal error: the output is called {logits}, not logits");
        }
        Ok(logits)
    }

    /// One residual block (`CKResBlock::forward`; dropout is the identity outside
    /// training).
    fn block(&mut self, b: &CKResBlock<B, f32>, x: &Map<B>, name: &str) -> Result<Map<B>> {
        let h = self.group_conv(b.conv1(), x, &format!("{name}.conv1"))?;
        let h = self.per_sample_norm(&h, &format!("{name}.conv1_norm"))?;
        let h = self.relu(&h, &format!("{name}.conv1_relu"));
        let h = self.group_conv(b.conv2(), &h, &format!("{name}.conv2"))?;
        let h = self.per_sample_norm(&h, &format!("{name}.conv2_norm"))?;
        let h = self.relu(&h, &format!("{name}.conv2_relu"));
        let shortcut = match b.shortcut() {
            Some(p) => self.pointwise(p, x, &h.elements, &format!("{name}.shortcut"))?,
            None => x.clone(),
        };
        let same = shortcut.width() == h.width()
            && shortcut.hw == h.hw
            && shortcut.elements.rotation_values() == h.elements.rotation_values()
            && shortcut.elements.mirror_values() == h.elements.mirror_values();
        if !same {
            bail!("{name}: the shortcut and the block's output live on different elements");
        }
        let sum = self
            .g
            .binary("Add", &format!("{name}.sum"), &h.value, &shortcut.value);
        let mut out = self.norm(b.norm(), &h.with_value(sum), &format!("{name}.norm"))?;
        if b.pools() {
            out = self.pool(&out, &format!("{name}.pool"))?;
        }
        Ok(self.relu(&out, &format!("{name}.relu")))
    }

    /// `CKResNet::forward`.
    fn ckresnet(&mut self, n: &CKResNet<B, f32>, images: &str, hw: [usize; 2]) -> Result<String> {
        let x = self.lift(n.lift(), images, hw)?;
        let mut x = self.norm(n.lift_norm(), &x, "lift_norm")?;
        if n.lift_pools() {
            x = self.pool(&x, "lift_pool")?;
        }
        let mut x = self.relu(&x, "lift_relu");
        for (i, b) in n.blocks().iter().enumerate() {
            x = self
                .block(b, &x, &format!("blocks.{i}"))
                .with_context(|| format!("block {i}"))?;
        }
        if n.last_is_t2() {
            let identity = Elements::identity(&self.backend, n.last().config().group)?;
            x = self.mean_over_samples(&x, identity, "last_t2_mean");
        }
        let x = self.group_conv(n.last(), &x, "last")?;
        let x = self.norm(n.last_norm(), &x, "last_norm")?;
        let x = self.relu(&x, "last_relu");
        let pooled = match n.final_pool() {
            Some(p) => self.learned_pool(p, &x, "final_pool")?,
            None => self.global_pool("ReduceMax", &x, "global_max_pool"),
        };
        self.head(n.head(), &pooled)
    }

    /// `Gcnn::forward` (channel dropout is the identity outside training).
    fn gcnn(&mut self, n: &Gcnn<B, f32>, images: &str, hw: [usize; 2]) -> Result<String> {
        let x = self.lift(n.lift(), images, hw)?;
        let x = self.norm(n.lift_norm(), &x, "lift_norm")?;
        let mut x = self.relu(&x, "lift_relu");
        for (i, layer) in n.layers().iter().enumerate() {
            let name = format!("layers.{i}");
            x = self.group_conv(layer.conv(), &x, &format!("{name}.conv"))?;
            x = self.norm(layer.norm(), &x, &format!("{name}.norm"))?;
            x = self.relu(&x, &format!("{name}.relu"));
            if layer.pools() {
                x = self.pool(&x, &format!("{name}.pool"))?;
            }
        }
        let pooled = self.global_pool("ReduceMean", &x, "global_mean_pool");
        self.head(n.head(), &pooled)
    }
}
