//! The string-valued settings of a config, as enums.
//!
//! Every choice has one canonical spelling (the reference's, where it has one), which is
//! what a rendered config writes, and a few accepted aliases. Matching ignores case and
//! every character that is not a letter or digit, so `SE(2)`, `se2` and `SE2` are one
//! name, as are `MNIST6-180` and `mnist6_180`. An unknown name is an error that lists the
//! valid ones and, where one is close, suggests it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::suggest::closest;

/// A name reduced to what matching compares: lower case, letters and digits only.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Why a string names no variant of a choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownChoice {
    /// What kind of thing was named ("net type", "dataset", ...).
    pub what: &'static str,
    /// The string given.
    pub given: String,
    /// The canonical names accepted.
    pub expected: Vec<&'static str>,
}

impl fmt::Display for UnknownChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}`; expected one of {}",
            self.what,
            self.given,
            self.expected.join(", ")
        )?;
        // Compare normalised forms, so a near miss in case or punctuation is not counted.
        let candidates: Vec<String> = self.expected.iter().map(|e| normalize(e)).collect();
        let near = closest(
            &normalize(&self.given),
            candidates.iter().map(String::as_str),
        );
        if let Some(&first) = near.first() {
            write!(f, " (did you mean `{}`?)", self.expected[first])?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownChoice {}

/// Declares a choice enum: variants with their canonical spelling and aliases, plus
/// `ALL`, `as_str`, `Display`, `FromStr` and string (de)serialisation.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal, default $default:ident {
            $( $(#[$vmeta:meta])* $var:ident = $canon:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )+
        }

        impl $name {
            /// Every variant, in the order help texts list them.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The canonical spelling, as a rendered config writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $canon,)+
                }
            }

            /// The canonical spelling and the aliases of this variant.
            fn spellings(self) -> &'static [&'static str] {
                match self {
                    $($name::$var => &[$canon $(, $alias)*],)+
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownChoice;

            fn from_str(s: &str) -> Result<Self, UnknownChoice> {
                let key = normalize(s);
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.spellings().iter().any(|sp| normalize(sp) == key))
                    .ok_or_else(|| UnknownChoice {
                        what: $what,
                        given: s.to_string(),
                        expected: $name::ALL.iter().map(|v| v.as_str()).collect(),
                    })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

choice! {
    /// `net.type`: the network architecture (docs/math.md §8).
    NetType, "net type", default CKResNet {
        /// Residual network of partial group convolutions.
        CKResNet = "CKResNet" | "CKResNet2d",
        /// Plain stack of group convolutions with mean pooling.
        GCNN = "GCNN" | "GroupCNN",
        /// Augerino baseline around a T(2) CKResNet.
        AugerinoCKResNet = "AugerinoCKResNet",
        /// Augerino baseline around a T(2) GCNN.
        AugerinoGCNN = "AugerinoGCNN",
    }
}

impl NetType {
    /// Whether this is an Augerino baseline (a T(2) network over transformed inputs).
    pub fn is_augerino(self) -> bool {
        matches!(self, NetType::AugerinoCKResNet | NetType::AugerinoGCNN)
    }

    /// Whether the network is (or wraps) a CKResNet.
    pub fn is_ckresnet(self) -> bool {
        matches!(self, NetType::CKResNet | NetType::AugerinoCKResNet)
    }
}

choice! {
    /// `net.norm`: the normalisation after the lifting layer, each block and the last
    /// convolution (docs/math.md §6).
    NormType, "norm", default BatchNorm {
        /// Per channel over (B, N, H, W).
        BatchNorm = "BatchNorm" | "BatchNorm3d",
        /// Over (C, N, H, W) with a per-channel affine.
        LayerNorm = "LayerNorm",
    }
}

choice! {
    /// `conv.padding`: spatial padding of the lifting and group convolutions. The last
    /// convolution of a CKResNet always uses `valid`.
    Padding, "padding", default Same {
        /// Keeps H and W.
        Same = "same",
        /// No padding: H and W shrink by `kernel.size - 1`.
        Valid = "valid",
    }
}

choice! {
    /// `kernel.type`: the continuous kernel network (docs/math.md §7).
    KernelType, "kernel type", default Siren {
        /// Sine layers then a linear one; uses `kernel.omega0`.
        Siren = "SIREN",
        /// Linear, optional norm, activation; uses `kernel.norm` and `kernel.activation`.
        Mlp = "MLP",
        /// Multiplicative filter network with sine filters.
        Fourier = "Fourier" | "FourierNet",
        /// Multiplicative filter network with isotropic Gabor filters.
        Gabor = "Gabor" | "GaborNet",
        /// Multiplicative filter network with anisotropic Gabor filters.
        MagNet = "MAGNet",
    }
}

choice! {
    /// `kernel.norm`: the norm inside an MLP kernel net. The reference's empty string
    /// (its default) and `Identity` mean none.
    KernelNorm, "kernel norm", default Identity {
        /// No normalisation.
        Identity = "Identity" | "" | "none",
        /// Batch norm over the kernel net's inputs.
        BatchNorm = "BatchNorm",
        /// Layer norm over the hidden units.
        LayerNorm = "LayerNorm",
    }
}

choice! {
    /// `kernel.activation`: the activation inside an MLP kernel net. The reference's
    /// empty default is taken as ReLU.
    KernelActivation, "kernel activation", default Relu {
        /// max(x, 0).
        Relu = "ReLU" | "",
        /// x·sigmoid(x).
        Swish = "Swish" | "SiLU",
        /// Gaussian error linear unit (tanh approximation).
        Gelu = "GELU",
    }
}

choice! {
    /// `base_group.name`: the group the network is equivariant to (docs/math.md §1).
    ///
    /// The reference spells its groups `SE2` and `E2` and expresses T(2) as `SE2` with
    /// `no_samples = 1` and deterministic sampling; pgcnn accepts those spellings (and
    /// `SE(2)`, `E(2)`, `SO2`, `O2`) and names T(2) explicitly. A `T2` network is built
    /// the way the reference builds its T(2) baselines, SE(2) machinery with the single
    /// identity sample, so its parameter counts match the reference's (docs/benchmarks.md).
    GroupName, "group", default Se2 {
        /// Rotations and translations: H = SO(2).
        Se2 = "SE2" | "SO2",
        /// Rotations, mirrors and translations: H = O(2).
        E2 = "E2" | "O2",
        /// Translations only: H = {e}, one sample.
        T2 = "T2",
    }
}

choice! {
    /// `base_group.sampling_method`: how group elements are drawn (docs/math.md §3).
    SamplingMethod, "sampling method", default Deterministic {
        /// A stratified grid with a random offset, drawn anew each forward pass.
        Random = "random",
        /// The fixed grid 2π·i/N.
        Deterministic = "deterministic",
    }
}

choice! {
    /// `train.eval_mode`: how validation, test and `pgcnn eval` treat a model that draws
    /// group elements and keep decisions at evaluation time (docs/evaluation.md).
    EvalMode, "evaluation mode", default Sample {
        /// Draw as in training (the reference's evaluation), averaging the logits of
        /// `train.eval_draws` draws.
        Sample = "sample",
        /// Draw nothing: keep exactly the elements with keep probability above one
        /// half, on grids without their random offset.
        MostLikely = "most-likely",
    }
}

choice! {
    /// `train.optimizer`.
    Optimizer, "optimizer", default Adam {
        /// Adam (PyTorch semantics).
        Adam = "Adam",
        /// SGD with optional momentum and Nesterov (`train.optimizer_params`).
        Sgd = "SGD",
    }
}

choice! {
    /// `train.scheduler`: the learning-rate schedule (docs/math.md §10). The reference
    /// leaves it unset by default (no schedule); `none` and the empty string mean
    /// `constant`.
    Scheduler, "scheduler", default Constant {
        /// The rate never changes (after any warm-up).
        Constant = "constant" | "none" | "",
        /// Cosine to `scheduler_params.eta_min`, stepped every iteration, after
        /// `scheduler_params.warmup_epochs` of linear warm-up.
        Cosine = "cosine",
        /// Divide by `decay_factor` at each epoch in `decay_steps`.
        MultiStep = "multistep",
        /// Divide by `decay_factor` every epoch.
        Exponential = "exponential",
        /// Divide by `decay_factor` after `patience` epochs without better validation
        /// accuracy.
        Plateau = "plateau",
    }
}

choice! {
    /// `dataset` (docs/math.md §9). The spellings are the reference's; pgcnn adds
    /// `rotMNIST-synthetic` (every digit at a uniform random angle, buildable from the
    /// embedded digits). `PCam` is read from HDF5 files by the cargo feature `pcam` (on
    /// by default); a pgcnn built without it accepts the name and refuses to load it.
    Dataset, "dataset", default RotMnist {
        /// Plain MNIST digits.
        Mnist = "MNIST",
        /// MNIST-rot from its `.amat` files.
        RotMnist = "rotMNIST",
        /// Every MNIST digit rotated by a uniform random angle.
        RotMnistSynthetic = "rotMNIST-synthetic",
        /// Sixes and their 180° rotations, 2 classes.
        Mnist6_180 = "MNIST6-180",
        /// Sixes and their mirror images, 2 classes.
        Mnist6M = "MNIST6-M",
        /// CIFAR-10.
        Cifar10 = "CIFAR10",
        /// CIFAR-100.
        Cifar100 = "CIFAR100",
        /// STL-10.
        Stl10 = "STL10",
        /// PatchCamelyon (3×96×96, 2 classes).
        PCam = "PCam" | "PatchCamelyon",
    }
}

impl Dataset {
    /// Image shape `[C, H, W]`.
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => [3, 32, 32],
            Dataset::Stl10 | Dataset::PCam => [3, 96, 96],
            _ => [1, 28, 28],
        }
    }

    /// Number of classes; CIFAR-100 has 20 with coarse labels.
    pub fn classes(self, cifar100_coarse: bool) -> usize {
        match self {
            Dataset::Mnist6_180 | Dataset::Mnist6M | Dataset::PCam => 2,
            Dataset::Cifar100 if cifar100_coarse => 20,
            Dataset::Cifar100 => 100,
            _ => 10,
        }
    }

    /// Whether the dataset can be built from the embedded 10,000 digits, so it needs
    /// no files on disk.
    pub fn has_embedded(self) -> bool {
        matches!(
            self,
            Dataset::Mnist | Dataset::RotMnistSynthetic | Dataset::Mnist6_180 | Dataset::Mnist6M
        )
    }
}
