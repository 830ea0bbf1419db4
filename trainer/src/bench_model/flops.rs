//! The arithmetic of a model, counted from its config: the shape of every convolution
//! as one `conv2d`, the way docs/benchmarks.md counts it.
//!
//! A group convolution from `Cin` channels on `Nin` samples to `Cout` channels on
//! `Nout` samples is one conv2d with `Cin·Nin` input and `Cout·Nout` output channels
//! (docs/math.md §6), so its forward costs `2·B·Cout·Nout·H'·W'·Cin·Nin·k²` flops; the lifting
//! convolution has `Nin = 1`, a residual shortcut `k = 1`. The count assumes every
//! layer keeps all of its group's samples, as a partial layer does at θ = 1 (its
//! initial value). A trained partial layer with θ < 1, or an E(2) layer that drops its
//! mirrors, does less work than counted. The kernel nets, norms, pools and the
//! classifier are left out (well under 1% of the total for the benchmark configs).

use anyhow::Result;
use pgcnn_core::backend::Conv2dDesc;
use pgcnn_core::models::{ModelConfig, NetKind};
use pgcnn_core::Padding;

/// One convolution of a model, as the conv2d it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayer {
    /// Where it sits ("lift", "blocks.0.conv1", "blocks.0.shortcut", "last", ...).
    pub name: String,
    /// Its shape for the whole batch (per-image kernels change the grouping, not the
    /// arithmetic, so they are counted as one conv2d over the batch).
    pub desc: Conv2dDesc,
}

/// The convolutions a forward pass of the model `config` describes runs on `batch`
/// images, in network order. An Augerino baseline runs its T(2) network on one copy
/// of the batch per sample, so its layers are those of the inner network on
/// `batch · samples` images.
pub fn conv_layers(config: &ModelConfig, batch: usize) -> Result<Vec<ConvLayer>> {
    let samples = config.conv.samples()?;
    if config.net.is_augerino() {
        let inner_net = match config.net {
            NetKind::AugerinoGcnn => NetKind::Gcnn,
            _ => NetKind::CKResNet,
        };
        // The reference's T(2): one deterministic sample, the identity.
        return Ok(layers_of(config, inner_net, 1, batch * samples));
    }
    Ok(layers_of(config, config.net, samples, batch))
}

/// The forward pass's flops (multiply-adds times two) of the model on `batch` images.
pub fn forward_flops(config: &ModelConfig, batch: usize) -> Result<f64> {
    Ok(conv_layers(config, batch)?
        .iter()
        .map(|l| l.desc.flops())
        .sum())
}

/// The layers of a CKResNet or GCNN whose group convolutions see `n` samples.
fn layers_of(config: &ModelConfig, net: NetKind, n: usize, batch: usize) -> Vec<ConvLayer> {
    let k = config.conv.kernel_size;
    let mut out = Vec::new();
    let mut push = |name: String, cin: usize, cout: usize, hw: [usize; 2], k: usize, pad| {
        let desc = Conv2dDesc {
            batch,
            in_channels: cin,
            out_channels: cout,
            groups: 1,
            in_h: hw[0],
            in_w: hw[1],
            kernel_h: k,
            kernel_w: k,
            pad_h: pad,
            pad_w: pad,
        };
        let next = [desc.out_h(), desc.out_w()];
        out.push(ConvLayer { name, desc });
        next
    };
    let pad_of = |p: Padding| match p {
        Padding::Same => k / 2,
        Padding::Valid => 0,
        Padding::Explicit { h, .. } => h,
    };
    let pad = pad_of(config.conv.padding);
    let ck = net == NetKind::CKResNet;
    let pool = |s: [usize; 2]| [s[0] / 2, s[1] / 2];

    let h = config.no_hidden;
    let mut s = push(
        "lift".into(),
        config.in_channels,
        h * n,
        config.image_hw,
        k,
        pad,
    );
    if ck && config.pool_blocks.contains(&0) {
        s = pool(s);
    }
    let c = &config.conv;
    let mut c_in = h;
    for (i, &c_out) in config.block_widths.iter().enumerate() {
        let index = i + 1;
        if ck {
            let name = |part: &str| format!("blocks.{i}.{part}");
            let s_in = s;
            s = push(name("conv1"), c_in * n, c_out * n, s, k, pad);
            s = push(name("conv2"), c_out * n, c_out * n, s, k, pad);
            if c_in != c_out || c.sample_per_layer || c.partial {
                push(name("shortcut"), c_in * n, c_out * n, s_in, 1, 0);
            }
        } else {
            s = push(format!("layers.{i}.conv"), c_in * n, c_out * n, s, k, pad);
        }
        if config.pool_blocks.contains(&index) {
            s = pool(s);
        }
        c_in = c_out;
    }
    if ck {
        // The last convolution: valid padding; with last_conv_T2 on the sample mean
        // and the identity alone.
        let width = config.final_width();
        let n_last = if config.last_conv_t2 { 1 } else { n };
        push("last".into(), width * n_last, width * n_last, s, k, 0);
    }
    out
}
