//! What a backend is, as opposed to what it computes: asked by the code that reports on
//! a backend (benchmarks, logs) instead of matching its name.

/// What [`Backend::capabilities`](super::Backend::capabilities) reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Where the primitives run.
    pub device: DeviceKind,
    /// The device is a stand-in that runs the backend's work elsewhere (the CUDA
    /// backend's kernel emulator runs its kernels on the CPU): its results count, its
    /// timings say nothing about the device it stands for.
    pub emulated: bool,
    /// The backend can time its device work by op (the CUDA backend's profile).
    pub device_profile: bool,
}

impl Capabilities {
    /// A backend that computes on the host, synchronously: the CPU and the reference.
    pub const HOST: Capabilities = Capabilities {
        device: DeviceKind::Cpu,
        emulated: false,
        device_profile: false,
    };
}

/// The kind of device a backend computes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Cpu,
    Gpu,
}
