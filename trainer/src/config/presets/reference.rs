//! The reference's experiments (EXPERIMENTS.md of merlresearch/partial_gcnn), one preset
//! per command line. Names are `dataset-net-group-variant`; the settings are the
//! command's, grouped by the fragments they share (a fragment holds exactly the keys of
//! the command it names, so every list reads as its command does).

use super::Preset;

/// A preset of the reference's (docs/benchmarks.md gives no parameter count for it).
const fn experiment(
    name: &'static str,
    summary: &'static str,
    settings: &'static [&'static str],
) -> Preset {
    Preset {
        name,
        summary,
        settings,
        reference_params: None,
    }
}

// Groups and sampling.
const T2: &str = "base_group.name=T2 base_group.no_samples=1 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=false \
    base_group.sampling_method=deterministic conv.partial_equiv=false";
const SE2_PARTIAL: &str = "base_group.name=SE2 base_group.no_samples=8 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=true \
    base_group.sampling_method=random conv.partial_equiv=true";
const SE2_FULL: &str = "base_group.name=SE2 base_group.no_samples=8 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=true \
    base_group.sampling_method=random conv.partial_equiv=false";
/// Full equivariance with one draw per forward pass (the GCNN "full" runs and every
/// Augerino run).
const SE2_ONCE: &str = "base_group.name=SE2 base_group.no_samples=8 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=false \
    base_group.sampling_method=random conv.partial_equiv=false";
const E2_PARTIAL: &str = "base_group.name=E2 base_group.no_samples=8 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=true \
    base_group.sampling_method=random conv.partial_equiv=true";
const E2_FULL: &str = "base_group.name=E2 base_group.no_samples=8 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=true \
    base_group.sampling_method=random conv.partial_equiv=false";
const E2_ONCE: &str = "base_group.name=E2 base_group.no_samples=8 \
    base_group.sample_per_batch_element=false base_group.sample_per_layer=false \
    base_group.sampling_method=random conv.partial_equiv=false";

const CONV: &str = "conv.bias=true conv.padding=same";

// CKResNet on rotMNIST / CIFAR: SIREN kernels of size 7, widths 32 then 64, 300 epochs.
const CK_SIREN: &str = "kernel.learn_omega0=false kernel.no_hidden=32 kernel.no_layers=3 \
    kernel.omega0=10 kernel.size=7 kernel.type=SIREN kernel.weight_norm=false";
const CK_NET: &str = "net.block_width_factors=[1,1,2,1] net.dropout=0 net.no_blocks=2 \
    net.no_hidden=32 net.norm=BatchNorm";
const CK_TRAIN: &str = "seed=0 train.batch_size=64 train.epochs=300 train.lr=0.001 \
    train.scheduler=cosine train.scheduler_params.warmup_epochs=5";

// GCNN: SIREN kernels of size 3, 8 layers of 128 then 256 channels, 205 epochs.
const GCNN_SIREN: &str = "kernel.learn_omega0=false kernel.no_hidden=8 kernel.no_layers=3 \
    kernel.size=3 kernel.type=SIREN kernel.weight_norm=false";
const GCNN_NET: &str = "net.block_width_factors=[1,1,2,7] net.dropout_blocks=[2,5,8] \
    net.no_blocks=8 net.no_hidden=128 net.norm=BatchNorm net.pool_blocks=[2,5]";
const GCNN_TRAIN: &str = "seed=0 train.batch_size=128 train.epochs=205 \
    train.scheduler=cosine train.scheduler_params.warmup_epochs=5";

// MNIST6-180 / MNIST6-M: MFN kernels, a narrow CKResNet, no schedule.
const MNIST6_KERNEL: &str = "kernel.no_hidden=32 kernel.no_layers=3 kernel.size=7";
const MNIST6_NET: &str = "net.dropout=0 net.no_blocks=2 net.pool_blocks=[1,2] net.type=CKResNet";
const MNIST6_TRAIN: &str = "seed=0 train.batch_size=64 train.epochs=300 train.lr=0.001";

// Settings the benchmark configs share with an experiment (docs/benchmarks.md §1).

/// `mnist6-180-ckresnet-se2-partial`.
pub(super) const MNIST6_180_CK_SE2_PARTIAL: &[&str] = &[
    "base_group.name=SE2 base_group.no_samples=8 base_group.sample_per_batch_element=true \
     base_group.sample_per_layer=true base_group.sampling_method=random \
     conv.partial_equiv=true",
    CONV,
    "dataset=MNIST6-180 kernel.type=MAGNet net.no_hidden=10 net.norm=BatchNorm",
    MNIST6_KERNEL,
    MNIST6_NET,
    MNIST6_TRAIN,
];

/// `rotmnist-ckresnet-t2`.
pub(super) const ROTMNIST_CK_T2: &[&str] = &[
    T2,
    CONV,
    "dataset=rotMNIST",
    CK_SIREN,
    CK_NET,
    "net.pool_blocks=[1,2] net.type=CKResNet",
    CK_TRAIN,
    "train.weight_decay=0 train.lr_probs=1e-4",
];

/// `rotmnist-ckresnet-se2-partial`.
pub(super) const ROTMNIST_CK_SE2_PARTIAL: &[&str] = &[
    SE2_PARTIAL,
    CONV,
    "dataset=rotMNIST",
    CK_SIREN,
    CK_NET,
    "net.pool_blocks=[0,1] net.type=CKResNet",
    CK_TRAIN,
    "train.monotonic_decay_loss=0.001 train.weight_decay=0",
];

/// `rotmnist-ckresnet-se2-full`.
pub(super) const ROTMNIST_CK_SE2_FULL: &[&str] = &[
    SE2_FULL,
    CONV,
    "dataset=rotMNIST",
    CK_SIREN,
    CK_NET,
    "net.pool_blocks=[0,1] net.type=CKResNet",
    CK_TRAIN,
    "train.monotonic_decay_loss=0.001 train.weight_decay=0",
];

/// `rotmnist-ckresnet-e2-partial`.
pub(super) const ROTMNIST_CK_E2_PARTIAL: &[&str] = &[
    E2_PARTIAL,
    CONV,
    "dataset=rotMNIST",
    CK_SIREN,
    CK_NET,
    "net.pool_blocks=[0,1] net.type=CKResNet",
    CK_TRAIN,
    "train.weight_decay=0 train.lr_probs=1e-4",
];

/// `cifar10-ckresnet-se2-partial`.
pub(super) const CIFAR10_CK_SE2_PARTIAL: &[&str] = &[
    SE2_PARTIAL,
    CONV,
    "dataset=CIFAR10",
    CK_SIREN,
    CK_NET,
    "net.pool_blocks=[1,2] net.type=CKResNet",
    CK_TRAIN,
    "train.weight_decay=0.0001 train.lr_probs=1e-4",
];

/// The experiments, in EXPERIMENTS.md's order.
pub(super) const EXPERIMENTS: &[Preset] = &[
    // MNIST6-180.
    experiment(
        "mnist6-180-ckresnet-se2-partial",
        "MNIST6-180, CKResNet, SE(2) partial, 8 samples per image, MAGNet kernel, 300 epochs",
        MNIST6_180_CK_SE2_PARTIAL,
    ),
    experiment(
        "mnist6-180-ckresnet-se2-full",
        "MNIST6-180, CKResNet, SE(2) fully equivariant, Fourier kernel, LayerNorm, 300 epochs",
        &[
            SE2_FULL,
            CONV,
            "dataset=MNIST6-180 kernel.type=Fourier net.no_hidden=20 net.norm=LayerNorm",
            MNIST6_KERNEL,
            MNIST6_NET,
            MNIST6_TRAIN,
        ],
    ),
    // MNIST6-M.
    experiment(
        "mnist6-m-ckresnet-e2-partial",
        "MNIST6-M, CKResNet, E(2) partial, 8 samples, MAGNet kernel, 300 epochs",
        &[
            E2_PARTIAL,
            CONV,
            "dataset=MNIST6-M kernel.type=MAGNet net.no_hidden=10 net.norm=BatchNorm",
            MNIST6_KERNEL,
            MNIST6_NET,
            MNIST6_TRAIN,
        ],
    ),
    experiment(
        "mnist6-m-ckresnet-e2-full",
        "MNIST6-M, CKResNet, E(2) fully equivariant, 8 samples, MAGNet kernel, 300 epochs",
        &[
            E2_FULL,
            CONV,
            "dataset=MNIST6-M kernel.type=MAGNet net.no_hidden=10 net.norm=BatchNorm",
            MNIST6_KERNEL,
            MNIST6_NET,
            MNIST6_TRAIN,
        ],
    ),
    // rotMNIST, CKResNet.
    experiment(
        "rotmnist-ckresnet-t2",
        "rotMNIST, CKResNet, T(2) baseline, SIREN kernel, cosine, 300 epochs",
        ROTMNIST_CK_T2,
    ),
    experiment(
        "rotmnist-ckresnet-se2-partial",
        "rotMNIST, CKResNet, SE(2) partial, 8 samples, monotonic loss, cosine, 300 epochs",
        ROTMNIST_CK_SE2_PARTIAL,
    ),
    experiment(
        "rotmnist-ckresnet-se2-full",
        "rotMNIST, CKResNet, SE(2) fully equivariant, 8 samples, cosine, 300 epochs",
        ROTMNIST_CK_SE2_FULL,
    ),
    experiment(
        "rotmnist-ckresnet-se2-augerino",
        "rotMNIST, Augerino CKResNet, learned SE(2) augmentation, 8 copies, 300 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=rotMNIST",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[0,1] net.type=AugerinoCKResNet",
            CK_TRAIN,
            "train.weight_decay=0",
        ],
    ),
    experiment(
        "rotmnist-ckresnet-e2-partial",
        "rotMNIST, CKResNet, E(2) partial, 8 samples, cosine, 300 epochs",
        ROTMNIST_CK_E2_PARTIAL,
    ),
    experiment(
        "rotmnist-ckresnet-e2-full",
        "rotMNIST, CKResNet, E(2) fully equivariant, 8 samples, cosine, 300 epochs",
        &[
            E2_FULL,
            CONV,
            "dataset=rotMNIST",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[0,1] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "rotmnist-ckresnet-e2-augerino",
        "rotMNIST, Augerino CKResNet, learned E(2) augmentation, 8 copies, 300 epochs",
        &[
            E2_ONCE,
            CONV,
            "dataset=rotMNIST",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[0,1] net.type=AugerinoCKResNet",
            CK_TRAIN,
            "train.weight_decay=0",
        ],
    ),
    // rotMNIST, GCNN.
    experiment(
        "rotmnist-gcnn-t2",
        "rotMNIST, GCNN, T(2) baseline, 8 layers, kernel 3, lr 0.01, 205 epochs",
        &[
            T2,
            CONV,
            "dataset=rotMNIST kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.01 train.lr_probs=1e-3 train.weight_decay=0",
        ],
    ),
    experiment(
        "rotmnist-gcnn-se2-partial",
        "rotMNIST, GCNN, SE(2) partial, 8 samples, lr 0.01, 205 epochs",
        &[
            SE2_PARTIAL,
            CONV,
            "dataset=rotMNIST kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.01 train.lr_probs=1e-3 train.weight_decay=0",
        ],
    ),
    experiment(
        "rotmnist-gcnn-se2-full",
        "rotMNIST, GCNN, SE(2) fully equivariant, 8 samples, 205 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=rotMNIST kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "rotmnist-gcnn-se2-augerino",
        "rotMNIST, Augerino GCNN, learned SE(2) augmentation, 8 copies, 205 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=rotMNIST kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=AugerinoGCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.weight_decay=0.0001",
        ],
    ),
    // CIFAR-10, CKResNet.
    experiment(
        "cifar10-ckresnet-t2",
        "CIFAR-10, CKResNet, T(2) baseline, SIREN kernel, cosine, 300 epochs",
        &[
            T2,
            CONV,
            "dataset=CIFAR10",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "cifar10-ckresnet-se2-partial",
        "CIFAR-10, CKResNet, SE(2) partial, 8 samples, cosine, 300 epochs",
        CIFAR10_CK_SE2_PARTIAL,
    ),
    experiment(
        "cifar10-ckresnet-se2-full",
        "CIFAR-10, CKResNet, SE(2) fully equivariant, learnable final pooling, 300 epochs",
        &[
            SE2_FULL,
            CONV,
            "dataset=CIFAR10",
            CK_SIREN,
            CK_NET,
            "net.final_spatial_dim=[2,2] net.learnable_final_pooling=true",
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar10-ckresnet-se2-augerino",
        "CIFAR-10, Augerino CKResNet, learned SE(2) augmentation, 8 copies, 300 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=CIFAR10",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=AugerinoCKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar10-ckresnet-e2-partial",
        "CIFAR-10, CKResNet, E(2) partial, 8 samples, cosine, 300 epochs",
        &[
            E2_PARTIAL,
            CONV,
            "dataset=CIFAR10",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "cifar10-ckresnet-e2-full",
        "CIFAR-10, CKResNet, E(2) fully equivariant, learnable final pooling, 300 epochs",
        &[
            E2_FULL,
            CONV,
            "dataset=CIFAR10",
            CK_SIREN,
            CK_NET,
            "net.final_spatial_dim=[2,2] net.learnable_final_pooling=true",
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    // EXPERIMENTS.md writes base_group.name=SE2 for this one, which makes its line the
    // SE(2) Augerino line again; the E(2) heading it stands under is followed here.
    experiment(
        "cifar10-ckresnet-e2-augerino",
        "CIFAR-10, Augerino CKResNet, learned E(2) augmentation, 8 copies, 300 epochs",
        &[
            E2_ONCE,
            CONV,
            "dataset=CIFAR10",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=AugerinoCKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    // CIFAR-10, GCNN.
    experiment(
        "cifar10-gcnn-t2",
        "CIFAR-10, GCNN, T(2) baseline, 8 layers, kernel 3, ω0 30, 205 epochs",
        &[
            T2,
            CONV,
            "dataset=CIFAR10 kernel.omega0=30",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.1 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar10-gcnn-se2-partial",
        "CIFAR-10, GCNN, SE(2) partial, 8 samples, 205 epochs",
        &[
            SE2_PARTIAL,
            CONV,
            "dataset=CIFAR10 kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.lr_probs=0.0001 train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar10-gcnn-se2-full",
        "CIFAR-10, GCNN, SE(2) fully equivariant, 8 samples, ω0 30, 205 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=CIFAR10 kernel.omega0=30",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.weight_decay=0",
        ],
    ),
    experiment(
        "cifar10-gcnn-se2-augerino",
        "CIFAR-10, Augerino GCNN, learned SE(2) augmentation, 8 copies, 205 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=CIFAR10 kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=AugerinoGCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.lr_probs=0.0001 train.weight_decay=0.0001",
        ],
    ),
    // CIFAR-100, CKResNet.
    experiment(
        "cifar100-ckresnet-t2",
        "CIFAR-100, CKResNet, T(2) baseline, SIREN kernel, cosine, 300 epochs",
        &[
            T2,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "cifar100-ckresnet-se2-partial",
        "CIFAR-100, CKResNet, SE(2) partial, 8 samples, cosine, 300 epochs",
        &[
            SE2_PARTIAL,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "cifar100-ckresnet-se2-full",
        "CIFAR-100, CKResNet, SE(2) fully equivariant, 8 samples, cosine, 300 epochs",
        &[
            SE2_FULL,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "cifar100-ckresnet-se2-augerino",
        "CIFAR-100, Augerino CKResNet, learned SE(2) augmentation, 8 copies, 300 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=AugerinoCKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar100-ckresnet-e2-partial",
        "CIFAR-100, CKResNet, E(2) partial, 8 samples, cosine, 300 epochs",
        &[
            E2_PARTIAL,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001 train.lr_probs=1e-4",
        ],
    ),
    experiment(
        "cifar100-ckresnet-e2-full",
        "CIFAR-100, CKResNet, E(2) fully equivariant, last convolution T(2), 300 epochs",
        &[
            E2_FULL,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.last_conv_T2=true",
            "net.pool_blocks=[1,2] net.type=CKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar100-ckresnet-e2-augerino",
        "CIFAR-100, Augerino CKResNet, learned E(2) augmentation, 8 copies, 300 epochs",
        &[
            E2_ONCE,
            CONV,
            "dataset=CIFAR100",
            CK_SIREN,
            CK_NET,
            "net.pool_blocks=[1,2] net.type=AugerinoCKResNet",
            CK_TRAIN,
            "train.weight_decay=0.0001",
        ],
    ),
    // CIFAR-100, GCNN.
    experiment(
        "cifar100-gcnn-t2",
        "CIFAR-100, GCNN, T(2) baseline, 8 layers, kernel 3, ω0 30, 205 epochs",
        &[
            T2,
            CONV,
            "dataset=CIFAR100 kernel.omega0=30",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.1 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar100-gcnn-se2-partial",
        "CIFAR-100, GCNN, SE(2) partial, 8 samples, 205 epochs",
        &[
            SE2_PARTIAL,
            CONV,
            "dataset=CIFAR100 kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.lr_probs=0.0001 train.weight_decay=0.0001",
        ],
    ),
    experiment(
        "cifar100-gcnn-se2-full",
        "CIFAR-100, GCNN, SE(2) fully equivariant, 8 samples, 205 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=CIFAR100 kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=GCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.weight_decay=0",
        ],
    ),
    experiment(
        "cifar100-gcnn-se2-augerino",
        "CIFAR-100, Augerino GCNN, learned SE(2) augmentation, 8 copies, 205 epochs",
        &[
            SE2_ONCE,
            CONV,
            "dataset=CIFAR100 kernel.omega0=10",
            GCNN_SIREN,
            GCNN_NET,
            "net.dropout=0.3 net.type=AugerinoGCNN",
            GCNN_TRAIN,
            "train.lr=0.001 train.lr_probs=0.001 train.weight_decay=0",
        ],
    ),
];
