//! Where each pgcnn parameter comes from in a state_dict of the reference implementation
//! (the authors' PyTorch code): its name there, and which of its values.
//!
//! pgcnn's models are built like the reference's, so the mapping is a renaming
//! (`lift` ↔ `lift_conv`, `blocks.0.conv1` ↔ `blocks.0.gconv1`, a kernel net's
//! `layers.1` ↔ `kernel_net.2`, ...) plus two value-level adjustments:
//!
//! - shapes differ only by axes of length 1: the reference's kernel nets are built from
//!   1×1 convolutions (`[out, in, 1, 1]` for pgcnn's `[out, in]`) and its biases are
//!   `[1, out]`; [`fits`] accepts exactly such pairs;
//! - a partial layer's learned subset is one `probs` vector in the reference (θ and the
//!   mirror logit for random sampling, the rotation logits and the mirror logit for
//!   deterministic sampling); pgcnn keeps `theta`, `rotation_logits` and `mirror_logit`
//!   apart, each a [`Part::Range`] of `probs`.
//!
//! The reference wraps its model in `torch.nn.DataParallel`, so its names start with
//! `module.`; [`strip_data_parallel`] removes that prefix. Its groups keep a buffer
//! `gumbel_iter_counter` per layer, and its SIREN layers an `omega_0` buffer per layer:
//! neither is a pgcnn parameter ([`is_ignored`]), and a learned ω0 is read from the first
//! layer ([`kernel_net_source`]), the import checking that all layers agree.

use crate::config::{Config, GroupName, KernelNorm, KernelType, NetType, SamplingMethod};
use std::fmt;

/// Which values of the reference tensor a pgcnn parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// All of them, in order (the shapes agree up to axes of length 1).
    Whole,
    /// The flat values `start..end`.
    Range(usize, usize),
}

/// A pgcnn parameter's origin in the reference's state_dict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The reference's name (without DataParallel's `module.`).
    pub name: String,
    /// Which of its values.
    pub part: Part,
}

impl Source {
    fn whole(name: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            part: Part::Whole,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.part {
            Part::Whole => write!(f, "{}", self.name),
            Part::Range(a, b) => write!(f, "{}[{a}..{b}]", self.name),
        }
    }
}

/// The settings of one convolution that decide its parameters' names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvNaming {
    /// The kernel net's type.
    pub kernel: KernelType,
    /// `kernel.no_layers`.
    pub kernel_layers: usize,
    /// `kernel.norm` (MLP only).
    pub kernel_norm: KernelNorm,
    /// Whether the group has mirrors (E(2)).
    pub mirrors: bool,
    /// The sampling method (decides what a partial layer's `probs` holds).
    pub sampling: SamplingMethod,
}

impl ConvNaming {
    /// The naming of every convolution of a model built from `config`.
    pub fn of(config: &Config) -> Self {
        ConvNaming {
            kernel: config.kernel.kernel_type,
            kernel_layers: config.kernel.no_layers,
            kernel_norm: config.kernel.norm,
            mirrors: config.base_group.name == GroupName::E2,
            sampling: config.base_group.sampling_method,
        }
    }
}

/// The reference's name for a kernel-net parameter, both relative to the kernel net
/// (`layers.0.weight` → `kernel_net.0.weight` for a SIREN). `None` for a name the kernel
/// net does not have.
pub fn kernel_net_source(naming: &ConvNaming, name: &str) -> Option<String> {
    let (head, leaf) = name.rsplit_once('.').unwrap_or(("", name));
    let index = |prefix: &str| -> Option<usize> { head.strip_prefix(prefix)?.parse().ok() };
    let last = naming.kernel_layers.checked_sub(1)?;
    match naming.kernel {
        KernelType::Siren => {
            // Sequential: [linear, sine] per hidden layer, then the output linear.
            if name == "omega0" {
                return Some("kernel_net.0.omega_0".into());
            }
            let at = match head {
                "output" => 2 * last,
                _ => 2 * index("layers.")?,
            };
            Some(format!("kernel_net.{at}.{leaf}"))
        }
        KernelType::Mlp => {
            // Sequential: [linear, norm, activation] per hidden layer, then the output.
            if head == "output" {
                return Some(format!("kernel_net.{}.{leaf}", 3 * last));
            }
            if let Some(i) = index("layers.") {
                return Some(format!("kernel_net.{}.{leaf}", 3 * i));
            }
            let i = index("norms.")?;
            let leaf = match leaf {
                "scale" => "weight",
                "shift" => "bias",
                _ => return None,
            };
            Some(format!("kernel_net.{}.{leaf}", 3 * i + 1))
        }
        KernelType::Fourier | KernelType::Gabor | KernelType::MagNet => {
            // filters.i.linear (and the Gabor window's mu, gamma), linear.i, output_linear.
            if head == "output" {
                return Some(format!("output_linear.{leaf}"));
            }
            if let Some(i) = index("layers.") {
                return Some(format!("linear.{i}.{leaf}"));
            }
            let i = index("filters.")?;
            match leaf {
                "weight" | "bias" => Some(format!("filters.{i}.linear.{leaf}")),
                "mu" | "gamma" => Some(format!("filters.{i}.{leaf}")),
                _ => None,
            }
        }
    }
}

/// The reference's source of a parameter of one convolution (lifting, group or
/// pointwise), both names relative to the layer (`kernel_net.layers.0.weight` →
/// `kernelnet.kernel_net.0.weight`, `partial.theta` → `probs[0..1]`). `rotations` is the number of
/// discrete rotations N_r a deterministic partial layer chooses from.
pub fn conv_source(naming: &ConvNaming, rotations: usize, name: &str) -> Option<Source> {
    if let Some(rest) = name.strip_prefix("kernel_net.") {
        return Some(Source::whole(format!(
            "kernelnet.{}",
            kernel_net_source(naming, rest)?
        )));
    }
    let probs = |a: usize, b: usize| Source {
        name: "probs".into(),
        part: Part::Range(a, b),
    };
    match name {
        "bias" => Some(Source::whole("bias")),
        // Random sampling: probs = [θ] (SE(2)) or [θ, mirror] (E(2)).
        "partial.theta" => Some(probs(0, 1)),
        // Deterministic sampling: probs = [logits of rotations 1..N_r, (mirror)].
        "partial.rotation_logits" => Some(probs(0, rotations.checked_sub(1)?)),
        "partial.mirror_logit" if naming.mirrors => Some(match naming.sampling {
            SamplingMethod::Random => probs(1, 2),
            SamplingMethod::Deterministic => probs(rotations - 1, rotations),
        }),
        _ => None,
    }
}

/// The reference's source of a norm's parameter or buffer, relative to the norm
/// (`weight` → `module.weight` for a batch norm, `module.layer_norm.weight` for the
/// reference's layer norm, which wraps a GroupNorm).
fn norm_source(config: &Config, name: &str) -> Option<String> {
    let inner = match config.net.norm {
        crate::config::NormType::BatchNorm => "module",
        crate::config::NormType::LayerNorm => "module.layer_norm",
    };
    match name {
        "weight" | "bias" | "running_mean" | "running_var" | "num_batches_tracked" => {
            Some(format!("{inner}.{name}"))
        }
        _ => None,
    }
}

/// The reference's module names of a model's parts, in pgcnn's terms.
fn model_part<'a>(config: &Config, name: &'a str) -> Option<(String, &'a str, PartKind)> {
    let split = |prefix: &str| name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.'));
    let ckresnet = config.net.net_type == NetType::CKResNet;
    if let Some(rest) = split("lift") {
        return Some(("lift_conv".into(), rest, PartKind::Conv));
    }
    if let Some(rest) = split("lift_norm") {
        return Some(("lift_norm".into(), rest, PartKind::Norm));
    }
    if let Some(rest) = split("head") {
        let module = if ckresnet { "out_layer" } else { "last_layer" };
        return Some((module.into(), rest, PartKind::Plain));
    }
    if ckresnet {
        if let Some(rest) = split("last") {
            return Some(("last_gconv".into(), rest, PartKind::Conv));
        }
        if let Some(rest) = split("last_norm") {
            return Some(("last_gconv_norm".into(), rest, PartKind::Norm));
        }
        if let Some(rest) = split("final_pool") {
            return Some(("learnable_pooling".into(), rest, PartKind::Plain));
        }
        let rest = name.strip_prefix("blocks.")?;
        let (i, rest) = rest.split_once('.')?;
        let block = format!("blocks.{i}");
        let (part, rest) = rest.split_once('.')?;
        return match part {
            "conv1" => Some((format!("{block}.gconv1"), rest, PartKind::Conv)),
            "conv2" => Some((format!("{block}.gconv2"), rest, PartKind::Conv)),
            "shortcut" => Some((format!("{block}.shortcut.0"), rest, PartKind::Conv)),
            "norm" => Some((format!("{block}.norm_out"), rest, PartKind::Norm)),
            _ => None,
        };
    }
    // GCNN: the reference's `blocks` interleaves its pooling and dropout modules with the
    // conv-norm-ReLU layers, so pgcnn's layer i is the reference's block j ≥ i.
    let rest = name.strip_prefix("layers.")?;
    let (i, rest) = rest.split_once('.')?;
    let i: usize = i.parse().ok()?;
    let j = gcnn_block_index(config, i);
    let (part, rest) = rest.split_once('.')?;
    match part {
        "conv" => Some((format!("blocks.{j}.conv"), rest, PartKind::Conv)),
        "norm" => Some((format!("blocks.{j}.norm"), rest, PartKind::Norm)),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum PartKind {
    Conv,
    Norm,
    Plain,
}

/// The index in the reference GCNN's `blocks` of its layer `i` (0-based): every layer
/// before it counts one, plus one for a pooling after it and one for a dropout after it.
fn gcnn_block_index(config: &Config, layer: usize) -> usize {
    (0..layer)
        .map(|k| {
            1 + usize::from(config.net.pool_blocks.contains(&(k + 1)))
                + usize::from(config.net.dropout_blocks.contains(&(k + 1)))
        })
        .sum()
}

/// The reference's source of a model parameter or buffer named `name` in pgcnn
/// (`blocks.0.conv1.kernel_net.layers.0.weight`, `lift_norm.running_mean`, ...) for a
/// model built from `config`. `None` when the reference has no such tensor.
pub fn model_source(config: &Config, name: &str) -> Option<Source> {
    let (module, rest, kind) = model_part(config, name)?;
    let samples = config.base_group.no_samples;
    let rotations = match config.base_group.name {
        GroupName::E2 => samples / 2,
        GroupName::Se2 | GroupName::T2 => samples,
    };
    let inner = match kind {
        PartKind::Conv => conv_source(&ConvNaming::of(config), rotations, rest)?,
        PartKind::Norm => Source::whole(norm_source(config, rest)?),
        PartKind::Plain => Source::whole(rest),
    };
    Some(Source {
        name: format!("{module}.{}", inner.name),
        part: inner.part,
    })
}

/// `name` without DataParallel's `module.` prefix.
pub fn strip_data_parallel(name: &str) -> &str {
    name.strip_prefix("module.").unwrap_or(name)
}

/// Reference tensors that are no pgcnn parameter: each layer's group keeps a Gumbel
/// iteration counter, each SIREN layer its ω0 (a buffer unless learned; a learned one
/// is read once), and a layer that is not partial keeps `probs` as a buffer.
pub fn is_ignored(name: &str, config: &Config) -> bool {
    name.ends_with(".gumbel_iter_counter")
        || name.ends_with(".omega_0")
        || (!config.conv.partial_equiv && name.ends_with(".probs"))
}

/// Whether a reference tensor of shape `theirs` can fill a pgcnn parameter of shape
/// `ours`: the same number of values and the same axes once the axes of length 1 are
/// dropped.
pub fn fits(ours: &[usize], theirs: &[usize]) -> bool {
    let squeeze = |d: &[usize]| d.iter().copied().filter(|&n| n != 1).collect::<Vec<_>>();
    ours.iter().product::<usize>() == theirs.iter().product::<usize>()
        && squeeze(ours) == squeeze(theirs)
}
