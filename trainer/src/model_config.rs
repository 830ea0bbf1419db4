//! From the trainer's [`Config`] (the reference's keys) to the core's [`ModelConfig`].
//!
//! Two choices follow the reference rather than the names:
//!
//! - `base_group.name = T2` becomes SE(2) with the single deterministic sample, not the
//!   core's `GroupKind::T2`: the reference builds its T(2) baselines that way, so its
//!   group convolutions' kernel nets see one more (constant) coordinate and its residual
//!   shortcuts' kernel nets one input; the parameter counts of docs/benchmarks.md
//!   (rotmnist_t2: 450,074) are those of that network. The network computes the same
//!   function class as a plain CNN.
//! - The Augerino baselines keep the config's group and sample count for the learned
//!   augmentation; the core builds their inner T(2) network the same way.
//!
//! Options the core does not implement are errors naming the key:
//! `kernel.weight_norm = true`, `kernel.norm = BatchNorm` (it would make every kernel
//! value depend on the other kernel positions) and `kernel.activation = GELU`.

use anyhow::{anyhow, bail, Context, Result};
use pgcnn_core::group::{GroupKind, KeepParameterisation, SamplingMethod as CoreSampling};
use pgcnn_core::kernel::{Activation, KernelNetConfig, KernelNetKind, KernelNorm as CoreNorm};
use pgcnn_core::layers::ConvConfig;
use pgcnn_core::models::{ModelConfig, NetKind, NormKind};
use pgcnn_core::Padding as CorePadding;

use crate::config::{
    Config, GroupName, KernelActivation, KernelNorm, KernelType, NetType, NormType, Padding,
    SamplingMethod,
};

/// The model `config` describes, for images of `in_channels` channels and size
/// `image_hw` = `[H, W]`, with `classes` outputs. The result is validated
/// ([`ModelConfig::validate`]); with `net.learnable_final_pooling` the config's
/// `net.final_spatial_dim` must be the size the last convolution outputs.
pub fn model_config(
    config: &Config,
    in_channels: usize,
    classes: usize,
    image_hw: [usize; 2],
) -> Result<ModelConfig> {
    let net = &config.net;
    let kind = match net.net_type {
        NetType::CKResNet => NetKind::CKResNet,
        NetType::GCNN => NetKind::Gcnn,
        NetType::AugerinoCKResNet => NetKind::AugerinoCKResNet,
        NetType::AugerinoGCNN => NetKind::AugerinoGcnn,
    };
    let mut model = ModelConfig::new(
        kind,
        in_channels,
        classes,
        image_hw,
        net.no_hidden,
        conv_config(config)?,
    );
    model.block_widths = config.block_widths().ok_or_else(|| {
        anyhow!(
            "net.block_width_factors = {:?} does not give net.no_blocks = {} block widths",
            net.block_width_factors,
            net.no_blocks
        )
    })?;
    model.dropout = net.dropout;
    model.norm = match net.norm {
        NormType::BatchNorm => NormKind::BatchNorm,
        NormType::LayerNorm => NormKind::LayerNorm,
    };
    model.pool_blocks = net.pool_blocks.clone();
    model.dropout_blocks = net.dropout_blocks.clone();
    model.last_conv_t2 = net.last_conv_t2;
    model.learnable_final_pooling = net.learnable_final_pooling;
    model
        .validate()
        .context("the config does not describe a network the model can build")?;
    if model.learnable_final_pooling {
        let dims = model.final_spatial_dims()?;
        if dims != net.final_spatial_dim {
            bail!(
                "net.final_spatial_dim = {:?}, but the last convolution outputs {}×{} on \
                 {}×{} images: set it to [{}, {}]",
                net.final_spatial_dim,
                dims[0],
                dims[1],
                image_hw[0],
                image_hw[1],
                dims[0],
                dims[1]
            );
        }
    }
    Ok(model)
}

/// The settings every convolution shares (channels are set per layer by the model).
pub fn conv_config(config: &Config) -> Result<ConvConfig> {
    let g = &config.base_group;
    let (group, no_samples, sampling) = match g.name {
        // The reference's T(2): SE(2) with one deterministic sample (see the module docs).
        GroupName::T2 => (GroupKind::Se2, 1, CoreSampling::Deterministic),
        GroupName::Se2 => (GroupKind::Se2, g.no_samples, sampling(g.sampling_method)),
        GroupName::E2 => (GroupKind::E2, g.no_samples, sampling(g.sampling_method)),
    };
    let mut conv = ConvConfig::new(
        1,
        1,
        config.kernel.size,
        group,
        no_samples,
        kernel_config(config)?,
    );
    conv.padding = match config.conv.padding {
        Padding::Same => CorePadding::Same,
        Padding::Valid => CorePadding::Valid,
    };
    conv.sampling = sampling;
    conv.sample_per_layer = g.sample_per_layer;
    conv.sample_per_batch_element = g.sample_per_batch_element;
    conv.partial = config.conv.partial_equiv;
    conv.keep = if g.reference_keep_probs {
        KeepParameterisation::ReferenceSigmoid2
    } else {
        KeepParameterisation::Sigmoid
    };
    conv.bias = config.conv.bias;
    Ok(conv)
}

fn sampling(method: SamplingMethod) -> CoreSampling {
    match method {
        SamplingMethod::Random => CoreSampling::Random,
        SamplingMethod::Deterministic => CoreSampling::Deterministic,
    }
}

/// The kernel nets' settings (`kernel.*`).
fn kernel_config(config: &Config) -> Result<KernelNetConfig> {
    let k = &config.kernel;
    if k.weight_norm {
        bail!("kernel.weight_norm = true is not implemented; set it to false");
    }
    let kind = match k.kernel_type {
        KernelType::Siren => KernelNetKind::Siren,
        KernelType::Mlp => KernelNetKind::Mlp,
        KernelType::Fourier => KernelNetKind::Fourier,
        KernelType::Gabor => KernelNetKind::Gabor,
        KernelType::MagNet => KernelNetKind::Magnet,
    };
    let mut kernel = KernelNetConfig::new(kind, k.no_hidden, k.no_layers);
    kernel.omega0 = k.omega0;
    kernel.learn_omega0 = k.learn_omega0;
    if kind == KernelNetKind::Mlp {
        kernel.activation = match k.activation {
            KernelActivation::Relu => Activation::Relu,
            KernelActivation::Swish => Activation::Swish,
            KernelActivation::Gelu => {
                bail!("kernel.activation = GELU is not implemented; use ReLU or Swish")
            }
        };
        kernel.norm = match k.norm {
            KernelNorm::Identity => CoreNorm::None,
            KernelNorm::LayerNorm => CoreNorm::LayerNorm,
            KernelNorm::BatchNorm => bail!(
                "kernel.norm = BatchNorm is not implemented (it makes each kernel value \
                 depend on the other kernel positions); use LayerNorm or Identity"
            ),
        };
    }
    Ok(kernel)
}
