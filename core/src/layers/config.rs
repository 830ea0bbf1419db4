//! The settings every convolution layer is built from (docs/math.md §3–§6, the config's
//! `conv`, `base_group` and `kernel` sections).

use crate::error::{Error, Result};
use crate::group::{GroupKind, KeepParameterisation, SamplingMethod};
use crate::kernel::KernelNetConfig;
use crate::ops::Padding;

/// Settings of a lifting, group or pointwise group convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvConfig {
    /// Cin.
    pub in_channels: usize,
    /// Cout.
    pub out_channels: usize,
    /// k, odd (the kernel grid is linspace(-1, 1, k) in both axes).
    pub kernel_size: usize,
    /// `Same` keeps H and W; `Valid` (the last layer of a CKResNet) shrinks them by k - 1.
    pub padding: Padding,
    /// The group the layer is equivariant to.
    pub group: GroupKind,
    /// N, the number of samples of the whole group (even for E(2); ignored for T(2)).
    pub no_samples: usize,
    /// Deterministic grid or stratified random draw (docs/math.md §3).
    pub sampling: SamplingMethod,
    /// A group convolution draws its own output elements instead of reusing its input's.
    pub sample_per_layer: bool,
    /// Every image of the batch gets its own draw (random sampling only: deterministic
    /// draws are equal for every image, so the layer then runs unbatched, which gives the
    /// same result).
    pub sample_per_batch_element: bool,
    /// The group convolution learns which subset of the group it is equivariant to
    /// (docs/math.md §4). Lifting and pointwise convolutions are never partial.
    pub partial: bool,
    /// How keep logits become keep probabilities (partial layers).
    pub keep: KeepParameterisation,
    /// A learnable bias per output channel (never for pointwise convolutions).
    pub bias: bool,
    /// The kernel net (pointwise convolutions use half its hidden width).
    pub kernel: KernelNetConfig,
}

impl ConvConfig {
    /// `Same` padding, random sampling shared by the batch and reused from the input,
    /// not partial, with bias.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        group: GroupKind,
        no_samples: usize,
        kernel: KernelNetConfig,
    ) -> Self {
        ConvConfig {
            in_channels,
            out_channels,
            kernel_size,
            padding: Padding::Same,
            group,
            no_samples,
            sampling: SamplingMethod::Random,
            sample_per_layer: false,
            sample_per_batch_element: false,
            partial: false,
            keep: KeepParameterisation::Sigmoid,
            bias: true,
            kernel,
        }
    }

    /// The number of samples a layer's output holds for this config: 1 for T(2).
    pub fn samples(&self) -> Result<usize> {
        self.group.samples_for(self.no_samples)
    }

    /// Whether draws are made per batch element (only random draws differ per image).
    pub(crate) fn batched_draws(&self) -> bool {
        self.sample_per_batch_element
            && self.sampling == SamplingMethod::Random
            && self.group != GroupKind::T2
    }

    /// Checks channels, kernel size and sample count; `op` names the layer.
    pub(crate) fn validate(&self, op: &'static str) -> Result<()> {
        if self.in_channels == 0 || self.out_channels == 0 {
            return Err(Error::bad_arg(
                op,
                alloc::format!(
                    "channel counts must be at least 1 (in {}, out {})",
                    self.in_channels,
                    self.out_channels
                ),
            ));
        }
        if self.kernel_size == 0 || self.kernel_size.is_multiple_of(2) {
            return Err(Error::bad_arg(
                op,
                alloc::format!(
                    "the kernel size must be odd (the grid is centred), not {}",
                    self.kernel_size
                ),
            ));
        }
        self.samples().map(|_| ())
    }
}
