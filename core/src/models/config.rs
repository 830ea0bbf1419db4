//! What a model is built from (docs/math.md §8): the architecture, its widths and where it
//! pools, and the settings every convolution shares.

use crate::error::{Error, Result};
use crate::group::{GroupKind, SamplingMethod};
use crate::layers::ConvConfig;
use crate::ops::Padding;
use alloc::format;
use alloc::vec::Vec;

/// The architecture (the config's `net.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetKind {
    /// Residual network of (partial) group convolutions, global max pool.
    CKResNet,
    /// Plain stack of group convolutions, global mean pool.
    Gcnn,
    /// A T(2) CKResNet on learned rotations of the input, averaged.
    AugerinoCKResNet,
    /// A T(2) GCNN on learned rotations of the input, averaged.
    AugerinoGcnn,
}

impl NetKind {
    /// Whether this is an Augerino baseline.
    pub fn is_augerino(self) -> bool {
        matches!(self, NetKind::AugerinoCKResNet | NetKind::AugerinoGcnn)
    }
    /// Whether the network is (or wraps) a CKResNet.
    pub fn is_ckresnet(self) -> bool {
        matches!(self, NetKind::CKResNet | NetKind::AugerinoCKResNet)
    }
}

/// The norm after the lifting convolution, each block and the last convolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NormKind {
    /// Per channel over (B, N, H, W), with running statistics.
    #[default]
    BatchNorm,
    /// Over (C, N, H, W) with a per-channel affine.
    LayerNorm,
}

/// Everything a [`Model`](super::Model) is built from.
///
/// `conv` holds the settings every lifting, group and pointwise convolution shares
/// (kernel size, padding, group, sampling, partial equivariance, bias, kernel net); its
/// `in_channels` and `out_channels` are ignored, the model sets them layer by layer.
/// The last convolution of a CKResNet always uses `valid` padding.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// The architecture.
    pub net: NetKind,
    /// Channels of the input images.
    pub in_channels: usize,
    /// Number of classes (the width of the logits).
    pub classes: usize,
    /// `[H, W]` of the input images (for `learnable_final_pooling`, which needs the
    /// final map's size, and to check that every pool gets a map it can take).
    pub image_hw: [usize; 2],
    /// Channels after the lifting convolution (`net.no_hidden`).
    pub no_hidden: usize,
    /// The width of every block (CKResNet) or layer (GCNN), in order; its length is the
    /// number of blocks.
    pub block_widths: Vec<usize>,
    /// Dropout rate: inside every CKResNet block (elementwise), after the GCNN layers in
    /// `dropout_blocks` (whole channels).
    pub dropout: f64,
    /// The norm of the lifting layer, the blocks and the last convolution.
    pub norm: NormKind,
    /// Where to 2×2 max-pool: CKResNet 0 = after the lifting layer and i = after block i;
    /// GCNN i = after layer i (1-based).
    pub pool_blocks: Vec<usize>,
    /// GCNN only: channel dropout after these layers (1-based).
    pub dropout_blocks: Vec<usize>,
    /// CKResNet only: average over the samples before the last convolution and make it
    /// a convolution on the identity alone (a T(2) convolution).
    pub last_conv_t2: bool,
    /// CKResNet only: replace the global max pool by a learned linear map over
    /// samples × final positions (needs a fixed number of samples: not partial).
    pub learnable_final_pooling: bool,
    /// The settings every convolution shares (channels ignored).
    pub conv: ConvConfig,
}

impl ModelConfig {
    /// A config with no blocks, no pooling, no dropout, BatchNorm and no options;
    /// set the fields to taste.
    pub fn new(
        net: NetKind,
        in_channels: usize,
        classes: usize,
        image_hw: [usize; 2],
        no_hidden: usize,
        conv: ConvConfig,
    ) -> Self {
        ModelConfig {
            net,
            in_channels,
            classes,
            image_hw,
            no_hidden,
            block_widths: Vec::new(),
            dropout: 0.0,
            norm: NormKind::BatchNorm,
            pool_blocks: Vec::new(),
            dropout_blocks: Vec::new(),
            last_conv_t2: false,
            learnable_final_pooling: false,
            conv,
        }
    }

    /// The number of blocks (CKResNet) or group-conv layers (GCNN).
    pub fn no_blocks(&self) -> usize {
        self.block_widths.len()
    }

    /// The width of the last block (`no_hidden` with no blocks): the channels the
    /// classifier sees.
    pub fn final_width(&self) -> usize {
        self.block_widths.last().copied().unwrap_or(self.no_hidden)
    }

    /// The settings of one convolution from `c_in` to `c_out` channels.
    pub(crate) fn layer(&self, c_in: usize, c_out: usize) -> ConvConfig {
        ConvConfig {
            in_channels: c_in,
            out_channels: c_out,
            ..self.conv.clone()
        }
    }

    /// The settings of the lifting convolution, which always samples the whole group
    /// (never partial).
    pub(crate) fn lifting_layer(&self, c_out: usize) -> ConvConfig {
        ConvConfig {
            partial: false,
            ..self.layer(self.in_channels, c_out)
        }
    }

    /// `[H, W]` of the feature map after the last convolution of a CKResNet, or of the
    /// last layer of a GCNN, following the input through every convolution and pool.
    pub fn final_spatial_dims(&self) -> Result<[usize; 2]> {
        const OP: &str = "ModelConfig::final_spatial_dims";
        let k = self.conv.kernel_size;
        let conv = |s: [usize; 2], padding: Padding, stage: &str| -> Result<[usize; 2]> {
            match padding {
                Padding::Valid => {
                    if s[0] < k || s[1] < k {
                        return Err(Error::bad_arg(
                            OP,
                            format!(
                                "{stage} gets a {}×{} map, smaller than its {k}×{k} kernel \
                                 (valid padding)",
                                s[0], s[1]
                            ),
                        ));
                    }
                    Ok([s[0] - k + 1, s[1] - k + 1])
                }
                _ => Ok(s),
            }
        };
        let pool = |s: [usize; 2], stage: &str| -> Result<[usize; 2]> {
            if s[0] < 2 || s[1] < 2 {
                return Err(Error::bad_arg(
                    OP,
                    format!("the pool {stage} gets a {}×{} map, too small", s[0], s[1]),
                ));
            }
            Ok([s[0] / 2, s[1] / 2])
        };
        let padding = self.conv.padding;
        let ck = self.net.is_ckresnet();
        let mut s = conv(self.image_hw, padding, "the lifting convolution")?;
        if ck && self.pool_blocks.contains(&0) {
            s = pool(s, "after the lifting layer")?;
        }
        for i in 1..=self.no_blocks() {
            for _ in 0..if ck { 2 } else { 1 } {
                s = conv(s, padding, &format!("block {i}"))?;
            }
            if self.pool_blocks.contains(&i) {
                s = pool(s, &format!("after block {i}"))?;
            }
        }
        if ck {
            s = conv(s, Padding::Valid, "the last convolution")?;
        }
        Ok(s)
    }

    /// Checks what the layers cannot check themselves: sizes, indices and options that
    /// only some architectures take.
    pub fn validate(&self) -> Result<()> {
        const OP: &str = "ModelConfig::validate";
        let fail = |reason: alloc::string::String| Err(Error::bad_arg(OP, reason));
        if self.in_channels == 0 || self.classes == 0 || self.no_hidden == 0 {
            return fail(format!(
                "in_channels ({}), classes ({}) and no_hidden ({}) must be at least 1",
                self.in_channels, self.classes, self.no_hidden
            ));
        }
        if self.block_widths.contains(&0) {
            return fail(format!(
                "every block needs at least one channel: {:?}",
                self.block_widths
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return fail(format!(
                "the dropout rate {} is not in [0, 1)",
                self.dropout
            ));
        }
        let ck = self.net.is_ckresnet();
        let first = if ck { 0 } else { 1 };
        if let Some(&bad) = self
            .pool_blocks
            .iter()
            .find(|&&i| i < first || i > self.no_blocks())
        {
            return fail(format!(
                "pool block {bad} is out of range {first}..={}",
                self.no_blocks()
            ));
        }
        if let Some(&bad) = self
            .dropout_blocks
            .iter()
            .find(|&&i| ck || i < 1 || i > self.no_blocks())
        {
            return fail(format!(
                "dropout block {bad}: dropout_blocks is for GCNN layers 1..={}",
                self.no_blocks()
            ));
        }
        let plain_ckresnet = ck && !self.net.is_augerino();
        if !plain_ckresnet && (self.last_conv_t2 || self.learnable_final_pooling) {
            return fail("last_conv_t2 and learnable_final_pooling are CKResNet options".into());
        }
        if self.learnable_final_pooling && self.conv.partial {
            return fail(
                "learnable_final_pooling needs a fixed number of samples, which a partial \
                 net does not have"
                    .into(),
            );
        }
        if self.net.is_augerino() {
            if self.conv.group == GroupKind::T2 {
                return fail("an Augerino baseline learns rotations: use SE2 or E2".into());
            }
            if self.conv.partial {
                return fail("an Augerino baseline wraps a T(2) network: not partial".into());
            }
        }
        self.conv.samples()?;
        self.final_spatial_dims().map(|_| ())
    }

    /// The config of the T(2) network inside an Augerino baseline: the reference's form,
    /// SE(2) with the single deterministic identity sample (its kernel nets see the
    /// relative-angle coordinate, a constant), so parameter counts match the reference.
    pub(crate) fn augerino_inner(&self) -> Self {
        let mut inner = self.clone();
        inner.net = match self.net {
            NetKind::AugerinoGcnn => NetKind::Gcnn,
            _ => NetKind::CKResNet,
        };
        inner.conv.group = GroupKind::Se2;
        inner.conv.no_samples = 1;
        inner.conv.sampling = SamplingMethod::Deterministic;
        inner.conv.sample_per_layer = false;
        inner.conv.sample_per_batch_element = false;
        inner.conv.partial = false;
        inner
    }
}
