//! Finding out, without panicking, whether CUDA can run here and on which device.
//!
//! cudarc loads libcuda, libnvrtc and libcublas on first use and panics when one is
//! missing, so everything here checks `is_culib_present()` first and turns each
//! failure into a one-line [`CudaUnavailable`].

use cudarc::driver::{result, sys};

/// Why the CUDA backend cannot be used; `Display` gives one line that says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CudaUnavailable {
    /// libcuda.so could not be loaded: no NVIDIA driver on this machine.
    #[error("no NVIDIA driver: libcuda.so could not be loaded")]
    DriverMissing,
    /// libnvrtc could not be loaded; the kernels cannot be compiled.
    #[error("{0}")]
    NvrtcMissing(String),
    /// libcublas could not be loaded.
    #[error("cuBLAS not found (libcublas.so.13 and libcublasLt.so.13); install the CUDA 13 toolkit or put its lib64 on LD_LIBRARY_PATH")]
    CublasMissing,
    /// The driver loaded but would not initialise (no device, or a driver too old).
    #[error("the CUDA driver did not initialise: {0}")]
    DriverInit(String),
    /// The driver works but sees no GPU.
    #[error("the CUDA driver sees no GPU")]
    NoDevice,
    /// `cuda:N` named a device that does not exist.
    #[error("CUDA device {ordinal} does not exist: this machine has {count} (cuda:0 to cuda:{last})", last = count.saturating_sub(1))]
    OrdinalOutOfRange { ordinal: usize, count: usize },
    /// A driver call failed while setting the device up.
    #[error("CUDA setup failed in {what}: {reason}")]
    Driver { what: &'static str, reason: String },
    /// The kernels did not compile or load.
    #[error("the CUDA kernels could not be built: {0}")]
    Kernels(String),
    /// cuBLAS would not start.
    #[error("cuBLAS did not start: {0}")]
    Cublas(String),
}

/// What the driver says about one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Which device (the N of `cuda:N`).
    pub ordinal: usize,
    /// How many devices the driver sees.
    pub device_count: usize,
    /// The product name, e.g. "NVIDIA H100 80GB HBM3".
    pub name: String,
    /// Compute capability (major, minor), e.g. (9, 0).
    pub compute_capability: (u32, u32),
    /// Global memory in bytes.
    pub total_memory: usize,
    /// Streaming multiprocessors.
    pub multiprocessors: u32,
    /// The driver's CUDA version (major, minor), e.g. (13, 0).
    pub driver_version: (u32, u32),
    /// NVRTC's version (major, minor).
    pub nvrtc_version: (u32, u32),
}

impl std::fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ma, mi) = self.compute_capability;
        let (dma, dmi) = self.driver_version;
        let (nma, nmi) = self.nvrtc_version;
        write!(
            f,
            "cuda:{} {} (sm_{ma}{mi}, {} SMs, {:.1} GiB; driver CUDA {dma}.{dmi}, NVRTC {nma}.{nmi})",
            self.ordinal,
            self.name,
            self.multiprocessors,
            self.total_memory as f64 / (1u64 << 30) as f64,
        )
    }
}

/// Checks that the three libraries load, without loading any of them for good.
pub fn check_libraries() -> Result<(), CudaUnavailable> {
    // SAFETY: each call only tries to dlopen the library under its usual names.
    if !unsafe { sys::is_culib_present() } {
        return Err(CudaUnavailable::DriverMissing);
    }
    crate::nvrtc::available().map_err(CudaUnavailable::NvrtcMissing)?;
    // SAFETY: as above.
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err(CudaUnavailable::CublasMissing);
    }
    Ok(())
}

/// Device 0, if CUDA is usable here: the question `--device auto` asks.
pub fn probe() -> Result<DeviceInfo, CudaUnavailable> {
    probe_device(0)
}

/// Device `ordinal`, if the libraries load, the driver starts and the device exists.
pub fn probe_device(ordinal: usize) -> Result<DeviceInfo, CudaUnavailable> {
    check_libraries()?;
    result::init().map_err(|e| match e.0 {
        sys::CUresult::CUDA_ERROR_NO_DEVICE => CudaUnavailable::NoDevice,
        _ => CudaUnavailable::DriverInit(e.to_string()),
    })?;
    let count = result::device::get_count().map_err(|e| driver("cuDeviceGetCount", e))?;
    let count = count.max(0) as usize;
    if count == 0 {
        return Err(CudaUnavailable::NoDevice);
    }
    if ordinal >= count {
        return Err(CudaUnavailable::OrdinalOutOfRange { ordinal, count });
    }
    let dev = result::device::get(ordinal as i32).map_err(|e| driver("cuDeviceGet", e))?;
    let name = result::device::get_name(dev).map_err(|e| driver("cuDeviceGetName", e))?;
    let attr = |a, what| {
        // SAFETY: `dev` is a valid device handle from cuDeviceGet.
        unsafe { result::device::get_attribute(dev, a) }
            .map(|v| v.max(0) as u32)
            .map_err(|e| driver(what, e))
    };
    use sys::CUdevice_attribute::*;
    let major = attr(
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
        "compute capability",
    )?;
    let minor = attr(
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
        "compute capability",
    )?;
    let multiprocessors = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "SM count")?;
    // SAFETY: as above.
    let total_memory =
        unsafe { result::device::total_mem(dev) }.map_err(|e| driver("cuDeviceTotalMem", e))?;
    let mut version = 0;
    // SAFETY: valid out-pointer.
    unsafe { sys::cuDriverGetVersion(&mut version) }
        .result()
        .map_err(|e| driver("cuDriverGetVersion", e))?;
    let (nma, nmi) = crate::nvrtc::version().map_err(CudaUnavailable::NvrtcMissing)?;
    Ok(DeviceInfo {
        ordinal,
        device_count: count,
        name,
        compute_capability: (major, minor),
        total_memory,
        multiprocessors,
        driver_version: (
            version.max(0) as u32 / 1000,
            (version.max(0) as u32 % 1000) / 10,
        ),
        nvrtc_version: (nma.max(0) as u32, nmi.max(0) as u32),
    })
}

fn driver(what: &'static str, e: result::DriverError) -> CudaUnavailable {
    CudaUnavailable::Driver {
        what,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let all = [
            CudaUnavailable::DriverMissing,
            CudaUnavailable::NvrtcMissing("NVRTC not found".into()),
            CudaUnavailable::CublasMissing,
            CudaUnavailable::DriverInit("x".into()),
            CudaUnavailable::NoDevice,
            CudaUnavailable::OrdinalOutOfRange {
                ordinal: 3,
                count: 1,
            },
            CudaUnavailable::Driver {
                what: "w",
                reason: "r".into(),
            },
            CudaUnavailable::Cublas("c".into()),
        ];
        for e in all {
            let s = e.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
    }

    #[test]
    fn out_of_range_names_the_valid_range() {
        let s = CudaUnavailable::OrdinalOutOfRange {
            ordinal: 2,
            count: 2,
        }
        .to_string();
        assert!(s.contains("cuda:0 to cuda:1"), "{s}");
    }

    #[test]
    fn probe_never_panics() {
        // On a machine without CUDA this is an error; on a GPU machine, device 0.
        match probe() {
            Ok(info) => assert!(info.device_count >= 1),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn absurd_ordinal_is_an_error_not_a_panic() {
        assert!(probe_device(1 << 20).is_err());
    }
}
