//! The typed config: every key, its type and its default.
//!
//! Key names are the reference's (`cfg/config.yaml` of merlresearch/partial_gcnn) wherever
//! it has the key; keys pgcnn adds are marked "pgcnn" below. Defaults are the
//! reference's where its `config.yaml` gives a real value; where it leaves a key unset
//! (`-1`, `""`, `0` placeholders that every experiment overrides) the default is the
//! value of its rotMNIST CKResNet experiments and docs/math.md §10: CKResNet, 32 channels,
//! 2 blocks, BatchNorm, padding same, SIREN kernel (32 hidden, 3 layers, size 7, ω0 10),
//! SE(2) with 8 samples, batch 64, 300 epochs, lr 1e-3, rotMNIST.
//!
//! Every struct takes missing keys from its default and rejects unknown ones.

use serde::{Deserialize, Serialize};

use super::choices::{
    Dataset, EvalMode, GroupName, KernelActivation, KernelNorm, KernelType, NetType, NormType,
    Optimizer, Padding, SamplingMethod, Scheduler,
};

/// A whole training config: model, group, kernel, optimisation and data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The dataset to train on.
    pub dataset: Dataset,
    /// Seed of every random choice (initialisation, sampling, shuffling, splits).
    pub seed: u64,
    /// Network architecture.
    pub net: Net,
    /// Convolution options shared by all group convolutions.
    pub conv: Conv,
    /// The continuous kernel nets.
    pub kernel: Kernel,
    /// The group and how its elements are sampled.
    pub base_group: BaseGroup,
    /// Optimisation.
    pub train: Train,
    /// Dataset construction.
    pub dataset_params: DatasetParams,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dataset: Dataset::RotMnist,
            seed: 0,
            net: Net::default(),
            conv: Conv::default(),
            kernel: Kernel::default(),
            base_group: BaseGroup::default(),
            train: Train::default(),
            dataset_params: DatasetParams::default(),
        }
    }
}

/// `net.*`: the architecture (docs/math.md §8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Net {
    /// `net.type`: CKResNet, GCNN, AugerinoCKResNet or AugerinoGCNN.
    #[serde(rename = "type")]
    pub net_type: NetType,
    /// `net.no_hidden`: channels after the lifting layer (the width unit of the blocks).
    pub no_hidden: usize,
    /// `net.no_blocks`: residual blocks (CKResNet) or group-conv layers (GCNN).
    pub no_blocks: usize,
    /// `net.dropout`: dropout rate inside residual blocks (CKResNet) or after the
    /// layers in `dropout_blocks` (GCNN, 2-D dropout).
    pub dropout: f64,
    /// `net.norm`: BatchNorm or LayerNorm.
    pub norm: NormType,
    /// `net.block_width_factors`: `[f1, n1, f2, n2, ...]` = n1 blocks of f1·no_hidden
    /// channels, then n2 of f2·no_hidden, ...; `[0]` = every block no_hidden wide.
    pub block_width_factors: Vec<f64>,
    /// `net.pool_blocks`: where to 2×2 max-pool: CKResNet 0 = after the lifting layer and
    /// i = after block i; GCNN i = after layer i (1-based). The reference writes `[-1]`
    /// for "nowhere"; here that is `[]`.
    pub pool_blocks: Vec<usize>,
    /// `net.dropout_blocks`: GCNN only: 2-D dropout after these layers (1-based).
    pub dropout_blocks: Vec<usize>,
    /// `net.last_conv_T2`: CKResNet only: average over the samples before the last
    /// convolution and make it a T(2) convolution.
    #[serde(rename = "last_conv_T2")]
    pub last_conv_t2: bool,
    /// `net.learnable_final_pooling`: CKResNet only: replace the global max pool by a
    /// linear map over samples × final positions; needs `final_spatial_dim` to match.
    pub learnable_final_pooling: bool,
    /// `net.final_spatial_dim`: `[H, W]` after the last convolution, for
    /// `learnable_final_pooling`.
    pub final_spatial_dim: [usize; 2],
}

impl Default for Net {
    fn default() -> Self {
        Net {
            net_type: NetType::CKResNet,
            no_hidden: 32,
            no_blocks: 2,
            dropout: 0.0,
            norm: NormType::BatchNorm,
            block_width_factors: vec![0.0],
            pool_blocks: Vec::new(),
            dropout_blocks: Vec::new(),
            last_conv_t2: false,
            learnable_final_pooling: false,
            final_spatial_dim: [1, 1],
        }
    }
}

/// `conv.*`: options of every lifting and group convolution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conv {
    /// `conv.padding`: same or valid (the last CKResNet convolution is always valid).
    pub padding: Padding,
    /// `conv.partial_equiv`: learn the subset of the group each group convolution is
    /// equivariant to (docs/math.md §4). Off = fully equivariant.
    pub partial_equiv: bool,
    /// `conv.bias`: a bias per output channel.
    pub bias: bool,
}

impl Default for Conv {
    fn default() -> Self {
        Conv {
            padding: Padding::Same,
            partial_equiv: false,
            bias: true,
        }
    }
}

/// `kernel.*`: the continuous kernel nets (docs/math.md §7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Kernel {
    /// `kernel.type`: SIREN, MLP, Fourier, Gabor or MAGNet.
    #[serde(rename = "type")]
    pub kernel_type: KernelType,
    /// `kernel.no_hidden`: hidden width (the residual shortcut's kernel net is half as wide).
    pub no_hidden: usize,
    /// `kernel.no_layers`: layers of the kernel net.
    pub no_layers: usize,
    /// `kernel.size`: the kernel's side in pixels (odd).
    pub size: usize,
    /// `kernel.omega0`: SIREN's frequency ω0.
    pub omega0: f64,
    /// `kernel.learn_omega0`: SIREN only: make ω0 a parameter (rate `train.lr_omega0`).
    pub learn_omega0: bool,
    /// `kernel.weight_norm`: weight normalisation of the kernel net's linear layers.
    pub weight_norm: bool,
    /// `kernel.norm`: MLP only: Identity, BatchNorm or LayerNorm.
    pub norm: KernelNorm,
    /// `kernel.activation`: MLP only: ReLU, Swish or GELU.
    pub activation: KernelActivation,
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel {
            kernel_type: KernelType::Siren,
            no_hidden: 32,
            no_layers: 3,
            size: 7,
            omega0: 10.0,
            learn_omega0: false,
            weight_norm: false,
            norm: KernelNorm::Identity,
            activation: KernelActivation::Relu,
        }
    }
}

/// `base_group.*`: the group and its sampling (docs/math.md §1, §3, §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaseGroup {
    /// `base_group.name`: SE2, E2 or T2 (see [`GroupName`] for the reference's spellings).
    pub name: GroupName,
    /// `base_group.no_samples`: N, group elements per feature map (E(2): N/2 rotations
    /// with both mirrors; T(2): 1).
    pub no_samples: usize,
    /// `base_group.sample_per_batch_element`: every image draws its own elements.
    pub sample_per_batch_element: bool,
    /// `base_group.sample_per_layer`: every group convolution draws its own elements.
    pub sample_per_layer: bool,
    /// `base_group.sampling_method`: random or deterministic.
    pub sampling_method: SamplingMethod,
    /// `base_group.gumbel_init_temp`: Gumbel-softmax temperature at the first iteration.
    pub gumbel_init_temp: f64,
    /// `base_group.gumbel_end_temp`: temperature at the last iteration (linear in between).
    pub gumbel_end_temp: f64,
    /// pgcnn: keep probabilities of discrete elements as the reference computes them,
    /// sigmoid(2·p) fed as logits (pinned between 0.5 and 0.73), instead of sigmoid(p)
    /// (docs/math.md §4).
    pub reference_keep_probs: bool,
}

impl Default for BaseGroup {
    fn default() -> Self {
        BaseGroup {
            name: GroupName::Se2,
            no_samples: 8,
            sample_per_batch_element: false,
            sample_per_layer: false,
            sampling_method: SamplingMethod::Deterministic,
            gumbel_init_temp: 0.5,
            gumbel_end_temp: 1e-4,
            reference_keep_probs: false,
        }
    }
}

/// `train.*`: optimisation (docs/math.md §10).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Train {
    /// `train.epochs`: the run's length, from which the cosine schedule and the Gumbel
    /// temperature are computed; `pgcnn train --resume DIR --epochs N` changes it for a
    /// run under way or finished (docs/runs.md).
    pub epochs: usize,
    /// `train.batch_size`.
    pub batch_size: usize,
    /// `train.lr`: learning rate of every parameter not covered below.
    pub lr: f64,
    /// `train.lr_probs`: rate of the partial-equivariance parameters (θ, logits);
    /// 0 = `lr`.
    pub lr_probs: f64,
    /// `train.lr_omega0`: rate of learnable SIREN ω0s; 0 = `lr`.
    pub lr_omega0: f64,
    /// `train.gradient_clip`: clip the global gradient norm to this; 0 = off.
    pub gradient_clip: f64,
    /// `train.weight_decay`: weight of Σ (‖sampled kernel‖₂ + ‖bias‖₂) over the group
    /// convolutions (a penalty in the loss, as the reference).
    pub weight_decay: f64,
    /// `train.monotonic_decay_loss`: weight λ of Σ relu(θ_{l+1} - θ_l) (docs/math.md §4).
    pub monotonic_decay_loss: f64,
    /// `train.optimizer`: Adam or SGD.
    pub optimizer: Optimizer,
    /// `train.scheduler`: constant, cosine, multistep, exponential or plateau.
    pub scheduler: Scheduler,
    /// pgcnn: stop after this many epochs without a better validation accuracy; 0 =
    /// never (the reference stops after 100).
    pub max_epochs_no_improvement: usize,
    /// pgcnn: how many independent draws of group elements and keep decisions the
    /// validation and test evaluations average the logits of, for a model that draws at
    /// evaluation time; 0 = automatic ([`DEFAULT_EVAL_DRAWS`](crate::evaluation::DEFAULT_EVAL_DRAWS) for such a model, 1 for one that draws
    /// nothing). 1 is the reference's single draw (docs/evaluation.md).
    pub eval_draws: usize,
    /// pgcnn: `sample` (draw, as the reference) or `most-likely` (draw nothing).
    pub eval_mode: EvalMode,
    /// `train.optimizer_params.*`.
    pub optimizer_params: OptimizerParams,
    /// `train.scheduler_params.*`.
    pub scheduler_params: SchedulerParams,
}

impl Default for Train {
    fn default() -> Self {
        Train {
            epochs: 300,
            batch_size: 64,
            lr: 1e-3,
            lr_probs: 0.0,
            lr_omega0: 0.0,
            gradient_clip: 0.0,
            weight_decay: 0.0,
            monotonic_decay_loss: 0.0,
            optimizer: Optimizer::Adam,
            scheduler: Scheduler::Constant,
            max_epochs_no_improvement: 100,
            eval_draws: 0,
            eval_mode: EvalMode::Sample,
            optimizer_params: OptimizerParams::default(),
            scheduler_params: SchedulerParams::default(),
        }
    }
}

/// `train.optimizer_params.*`: SGD options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerParams {
    /// `train.optimizer_params.momentum`: SGD momentum (0 = none).
    pub momentum: f64,
    /// `train.optimizer_params.nesterov`: Nesterov momentum (needs momentum > 0).
    pub nesterov: bool,
}

impl Default for OptimizerParams {
    fn default() -> Self {
        OptimizerParams {
            momentum: 0.0,
            nesterov: false,
        }
    }
}

/// `train.scheduler_params.*`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerParams {
    /// `train.scheduler_params.decay_steps`: multistep: epochs after which the rate is
    /// divided by `decay_factor`.
    pub decay_steps: Vec<usize>,
    /// `train.scheduler_params.decay_factor`: multistep, exponential, plateau: the
    /// divisor (the rate is multiplied by 1 / decay_factor).
    pub decay_factor: f64,
    /// `train.scheduler_params.patience`: plateau: epochs without improvement before a
    /// decay.
    pub patience: usize,
    /// `train.scheduler_params.warmup_epochs`: cosine: epochs of linear warm-up (0 = none).
    pub warmup_epochs: usize,
    /// pgcnn: cosine: the floor the rate decays to (the reference's fixed 1e-6).
    pub eta_min: f64,
}

impl Default for SchedulerParams {
    fn default() -> Self {
        SchedulerParams {
            decay_steps: Vec::new(),
            decay_factor: 10.0,
            patience: 10,
            warmup_epochs: 0,
            eta_min: 1e-6,
        }
    }
}

/// `dataset_params.*`: how the dataset is built and split (docs/math.md §9).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetParams {
    /// `dataset_params.rot_interval`: MNIST6-180 / MNIST6-M: rotate every six first by a
    /// uniform random angle in ±rot_interval degrees (0 = off).
    pub rot_interval: f64,
    /// pgcnn: share of the training images held out for validation; absent = the
    /// dataset's standard split (rotMNIST 1/6, others 0.1).
    pub val_fraction: Option<f64>,
    /// pgcnn: share of the pool kept as test set for datasets with no official test
    /// split (the embedded digits).
    pub test_fraction: f64,
    /// pgcnn: CIFAR-100 with its 20 coarse labels.
    pub cifar100_coarse: bool,
    /// pgcnn: normalise pixels per channel with the reference's statistics.
    pub normalize: bool,
}

impl Default for DatasetParams {
    fn default() -> Self {
        DatasetParams {
            rot_interval: 0.0,
            val_fraction: None,
            test_fraction: 0.2,
            cifar100_coarse: false,
            normalize: true,
        }
    }
}
