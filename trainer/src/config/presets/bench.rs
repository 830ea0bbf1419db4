//! The benchmark configs of docs/benchmarks.md, under the names its table uses, and the
//! two demos built on the smallest of them.
//!
//! Six of the benchmark configs are reference experiments (the table's settings are
//! theirs), so they share those experiments' settings. `small_se2_partial` is the
//! table's own: a CKResNet 8 channels wide with SIREN kernel nets of 16 hidden units.

use super::reference::{
    CIFAR10_CK_SE2_PARTIAL, MNIST6_180_CK_SE2_PARTIAL, ROTMNIST_CK_E2_PARTIAL,
    ROTMNIST_CK_SE2_FULL, ROTMNIST_CK_SE2_PARTIAL, ROTMNIST_CK_T2,
};
use super::Preset;

/// The `small_se2_partial` network of docs/benchmarks.md: SE(2) with 4 samples drawn at
/// random per layer, partial, SIREN kernel nets (16 hidden, 3 layers, ω0 10, size 7),
/// CKResNet of 8 channels with 2 blocks, pooling after the lifting layer and block 1, Adam
/// at 1e-3 for every parameter, batch 64, no schedule.
const SMALL_SE2: &str = "base_group.name=SE2 base_group.no_samples=4 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=true \
    base_group.sampling_method=random \
    conv.bias=true conv.padding=same \
    kernel.type=SIREN kernel.no_hidden=16 kernel.no_layers=3 kernel.omega0=10 kernel.size=7 \
    kernel.learn_omega0=false kernel.weight_norm=false \
    net.type=CKResNet net.no_hidden=8 net.no_blocks=2 net.block_width_factors=[0] \
    net.pool_blocks=[0,1] net.norm=BatchNorm net.dropout=0 \
    train.optimizer=Adam train.lr=0.001 train.lr_probs=0.001 train.batch_size=64 \
    train.scheduler=constant train.scheduler_params.warmup_epochs=0 seed=0";

/// The demos: `small_se2_partial`'s network on MNIST6-180 built from the embedded
/// digits, as the reference's accuracy runs of docs/benchmarks.md §5 use it.
/// 20 epochs: the reference's partial run was at 99.8% by epoch 5, and one epoch of
/// 1,461 images is a few seconds on 2 cores.
const DEMO: &str = "dataset=MNIST6-180 train.epochs=20";

/// The two demos: partial and fully equivariant, otherwise identical.
pub(super) const DEMOS: &[Preset] = &[
    Preset {
        name: "demo-mnist6-180-partial",
        summary: "demo: SE(2) partial CKResNet on MNIST6-180 from the embedded digits, \
                  20 epochs, minutes on 2 cores",
        settings: &[SMALL_SE2, DEMO, "conv.partial_equiv=true"],
        reference_params: None,
    },
    Preset {
        name: "demo-mnist6-180-full",
        summary: "demo: the same, fully SE(2) equivariant (conv.partial_equiv off): \
                  cannot tell 6 from rotated 6",
        settings: &[SMALL_SE2, DEMO, "conv.partial_equiv=false"],
        reference_params: None,
    },
];

/// The configs of the table of docs/benchmarks.md, in its order, with its parameter
/// counts.
pub(super) const BENCHMARKS: &[Preset] = &[
    Preset {
        name: "small_se2_partial",
        summary: "benchmark: SE(2) partial CKResNet, 4 samples, 8 channels, 1×28×28, 10 classes",
        settings: &[SMALL_SE2, "dataset=rotMNIST conv.partial_equiv=true train.epochs=300"],
        reference_params: Some(9_111),
    },
    Preset {
        name: "rotmnist_t2",
        summary: "benchmark: rotMNIST CKResNet, T(2) (= rotmnist-ckresnet-t2)",
        settings: ROTMNIST_CK_T2,
        reference_params: Some(450_074),
    },
    Preset {
        name: "rotmnist_se2_full",
        summary: "benchmark: rotMNIST CKResNet, SE(2) full, 8 samples (= rotmnist-ckresnet-se2-full)",
        settings: ROTMNIST_CK_SE2_FULL,
        reference_params: Some(467_786),
    },
    Preset {
        name: "rotmnist_se2_partial",
        summary: "benchmark: rotMNIST CKResNet, SE(2) partial, 8 samples (= rotmnist-ckresnet-se2-partial)",
        settings: ROTMNIST_CK_SE2_PARTIAL,
        reference_params: Some(467_791),
    },
    Preset {
        name: "rotmnist_e2_partial",
        summary: "benchmark: rotMNIST CKResNet, E(2) partial, 8 samples (= rotmnist-ckresnet-e2-partial)",
        settings: ROTMNIST_CK_E2_PARTIAL,
        reference_params: Some(467_988),
    },
    Preset {
        name: "mnist6_180_se2_partial",
        summary: "benchmark: MNIST6-180 CKResNet, SE(2) partial, per-image samples, MAGNet \
                  (= mnist6-180-ckresnet-se2-partial)",
        settings: MNIST6_180_CK_SE2_PARTIAL,
        reference_params: Some(48_845),
    },
    Preset {
        name: "cifar10_se2_partial",
        summary: "benchmark: CIFAR-10 CKResNet, SE(2) partial, 8 samples (= cifar10-ckresnet-se2-partial)",
        settings: CIFAR10_CK_SE2_PARTIAL,
        reference_params: Some(469_903),
    },
];
