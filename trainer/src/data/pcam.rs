//! PatchCamelyon (PCam): 96×96 RGB patches of lymph-node sections, 2 classes (metastatic
//! tissue in the centre 32×32 or not), from <https://github.com/basveeling/pcam>.
//!
//! Six HDF5 files, `camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5`: the `x`
//! files hold a dataset `x` of `uint8 [N, 96, 96, 3]` (rows, columns, RGB: HWC order),
//! the `y` files a dataset `y` of `uint8 [N, 1, 1, 1]` (labels 0 or 1). The splits have
//! 262,144 / 32,768 / 32,768 images; PCam comes with its own validation split, which is
//! used as is (as the reference does) rather than carved from the training images.
//!
//! The files are read by the pure-Rust `hdf5-pure` crate, behind the cargo feature `pcam`
//! (on by default): any layout libhdf5 / h5py writes by default (contiguous or chunked,
//! gzip, shuffle, Fletcher-32), read in windows of rows straight into the `f32` images,
//! so the file itself is never held in memory. (hdf5-pure 0.47 does not know the chunk
//! layout version 5 that HDF5 ≥ 2.0 writes only when asked for `libver="latest"`; such
//! a file is a clean "not a readable HDF5 file" error. PCam's own files predate it.)
//! Without the feature, loading PCam is an error that says so. They are distributed
//! gzip-compressed (`.h5.gz`); HDF5 cannot be read through gzip, so a directory with only
//! the `.h5.gz` files is an error asking to gunzip them.
//!
//! Memory: the images are held as `f32` `[N, C, H, W]`, 110,592 bytes each: the test and
//! validation splits take 3.6 GB each, the training split 29 GB. Before anything is
//! allocated, the counts the files declare are checked against the data they store
//! (`hdf5_storage.rs`), so a corrupt file cannot ask for memory its bytes do not back.

use std::path::Path;

use super::dataset::Dataset;
#[cfg(feature = "pcam")]
use super::error::MissingFiles;
use super::error::{DataError, Result};
#[cfg(feature = "pcam")]
use super::io::{find_files, search_dirs};

/// PCam's file names: train images, train labels, validation images, validation labels,
/// test images, test labels.
pub const FILES: [&str; 6] = [
    "camelyonpatch_level_2_split_train_x.h5",
    "camelyonpatch_level_2_split_train_y.h5",
    "camelyonpatch_level_2_split_valid_x.h5",
    "camelyonpatch_level_2_split_valid_y.h5",
    "camelyonpatch_level_2_split_test_x.h5",
    "camelyonpatch_level_2_split_test_y.h5",
];

/// Sub-directories of `--data-dir` searched as well: the reference's `PCam` folder and
/// a lower-case one.
#[cfg(feature = "pcam")]
const SUBDIRS: [&str; 2] = ["PCam", "pcam"];

/// Where the files come from.
#[cfg(feature = "pcam")]
const SOURCE: &str = "https://github.com/basveeling/pcam \
    (the six camelyonpatch_level_2_split_*.h5.gz files; gunzip them)";

/// The message for a directory without PCam.
#[cfg(feature = "pcam")]
fn missing(dir: Option<&Path>) -> DataError {
    DataError::Missing(MissingFiles {
        dataset: "pcam".into(),
        dir: dir.map(Path::to_path_buf),
        subdirs: SUBDIRS.iter().map(|s| s.to_string()).collect(),
        files: FILES.iter().map(|s| s.to_string()).collect(),
        source: SOURCE.into(),
    })
}

/// The error for a pgcnn built without the `pcam` feature.
#[cfg(not(feature = "pcam"))]
fn not_built() -> DataError {
    DataError::BadParam(
        "dataset `pcam` needs the cargo feature `pcam` (HDF5 reading), and this pgcnn was \
         built without it (--no-default-features); rebuild it with the default features"
            .into(),
    )
}

/// Finds the six files in `dir` (or its `PCam` / `pcam` sub-directory). A directory that
/// holds the `.h5.gz` downloads instead is an error asking to unpack them.
#[cfg(feature = "pcam")]
fn find(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let dirs = search_dirs(dir, &SUBDIRS);
    let groups: Vec<&[&str]> = FILES.iter().map(std::slice::from_ref).collect();
    if let Some(files) = find_files(&dirs, &groups) {
        return Ok(files);
    }
    let packed = dirs.iter().find_map(|d| {
        FILES
            .iter()
            .map(|f| d.join(format!("{f}.gz")))
            .find(|p| p.is_file() && !p.with_extension("").is_file())
    });
    match packed {
        Some(gz) => Err(DataError::format(
            gz.display().to_string(),
            format!(
                "is gzip-compressed and HDF5 cannot be read through gzip; unpack the PCam \
                 files first (gunzip {}/*.h5.gz) and pass the same --data-dir",
                gz.parent().unwrap_or(dir).display()
            ),
        )),
        None => Err(missing(Some(dir))),
    }
}

/// Loads PCam from `dir` (or `dir/PCam`): (train, validation, test), pixels in `[0, 1]`
/// (not normalised). `None` (no `--data-dir`) is the missing-files error; a pgcnn built
/// without the `pcam` feature answers with an error saying so, whatever the directory.
pub fn load_dir(dir: Option<&Path>) -> Result<(Dataset, Dataset, Dataset)> {
    #[cfg(feature = "pcam")]
    {
        let f = find(dir.ok_or_else(|| missing(None))?)?;
        Ok((
            hdf5::load_files(&f[0], &f[1])?,
            hdf5::load_files(&f[2], &f[3])?,
            hdf5::load_files(&f[4], &f[5])?,
        ))
    }
    #[cfg(not(feature = "pcam"))]
    {
        let _ = dir;
        Err(not_built())
    }
}

#[cfg(feature = "pcam")]
pub use hdf5::{load_files, parse_pcam};

/// Reading the HDF5 files (feature `pcam`).
#[cfg(feature = "pcam")]
mod hdf5 {
    use std::path::Path;

    use hdf5_pure::{DType, Dataset as H5Dataset, File};

    use crate::data::dataset::{pixel_value, Dataset};
    use crate::data::error::{DataError, Result};
    use crate::data::hdf5_storage::check_backed;
    use crate::data::io::is_gzip;

    /// Image side.
    const SIDE: usize = 96;
    /// Classes: 0 (no tumour tissue in the centre) and 1.
    const CLASSES: usize = 2;
    /// The largest number of images one file may hold: the official training split's.
    const MAX_IMAGES: u64 = 262_144;

    /// Bytes of one image in the file (HWC).
    const IMAGE_BYTES: usize = SIDE * SIDE * 3;
    /// Images decoded per read: a window of about 7 MB, so the whole file is never in
    /// memory at once.
    const ROWS_PER_READ: u64 = 256;

    /// Parses a PCam image file and its label file held in memory (the contents of a
    /// `*_x.h5` and a `*_y.h5`) into a 3×96×96, 2-class dataset, pixels in `[0, 1]` (not
    /// normalised), transposed to `[C, H, W]`.
    pub fn parse_pcam(x_file: Vec<u8>, y_file: Vec<u8>) -> Result<Dataset> {
        let x = open_bytes(x_file, "PCam images")?;
        let y = open_bytes(y_file, "PCam labels")?;
        read_split(&x, &y, "PCam images", "PCam labels")
    }

    /// Loads one split from its image file and label file, reading the images a window
    /// of rows at a time.
    pub fn load_files(x_path: &Path, y_path: &Path) -> Result<Dataset> {
        let x = open_path(x_path)?;
        let y = open_path(y_path)?;
        let (xc, yc) = (x_path.display().to_string(), y_path.display().to_string());
        read_split(&x, &y, &xc, &yc)
    }

    fn open_bytes(bytes: Vec<u8>, context: &str) -> Result<File> {
        if is_gzip(&bytes) {
            return Err(gzipped(context));
        }
        File::from_bytes(bytes).map_err(|e| not_hdf5(context, e))
    }

    fn open_path(path: &Path) -> Result<File> {
        let context = path.display().to_string();
        let io_err = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut magic = [0u8; 2];
        let mut file = std::fs::File::open(path).map_err(io_err)?;
        let n = std::io::Read::read(&mut file, &mut magic).map_err(io_err)?;
        if is_gzip(&magic[..n]) {
            return Err(gzipped(&context));
        }
        File::open_streaming(path).map_err(|e| not_hdf5(&context, e))
    }

    fn gzipped(context: &str) -> DataError {
        DataError::format(
            context,
            "is gzip-compressed (PCam's files are distributed as .h5.gz): gunzip it first",
        )
    }

    fn not_hdf5(context: &str, e: hdf5_pure::Error) -> DataError {
        DataError::format(context, format!("not a readable HDF5 file: {e}"))
    }

    /// The dataset `name` of `file`, checked to hold `uint8`; returns it with its shape.
    fn u8_dataset(file: &File, name: &str, context: &str) -> Result<(H5Dataset, Vec<u64>)> {
        let fail = |what: String| DataError::format(context, what);
        let ds = file
            .dataset(name)
            .map_err(|e| fail(format!("no dataset `{name}`: {e}")))?;
        let dtype = ds
            .dtype()
            .map_err(|e| fail(format!("dataset `{name}`: unreadable datatype: {e}")))?;
        if dtype != DType::U8 {
            return Err(fail(format!(
                "dataset `{name}` holds {dtype}, not uint8 (u8)"
            )));
        }
        let shape = ds
            .shape()
            .map_err(|e| fail(format!("dataset `{name}`: unreadable shape: {e}")))?;
        Ok((ds, shape))
    }

    /// Reads images from `x` and labels from `y`, checking types, shapes and counts
    /// before anything is allocated.
    fn read_split(x: &File, y: &File, xc: &str, yc: &str) -> Result<Dataset> {
        let (xs, x_shape) = u8_dataset(x, "x", xc)?;
        let (ys, y_shape) = u8_dataset(y, "y", yc)?;
        let count = match x_shape[..] {
            [n, h, w, 3] if h == SIDE as u64 && w == SIDE as u64 => n,
            _ => {
                return Err(DataError::format(
                    xc,
                    format!("dataset `x` has shape {x_shape:?}, not [N, 96, 96, 3]"),
                ))
            }
        };
        if count == 0 || count > MAX_IMAGES {
            return Err(DataError::format(
                xc,
                format!("dataset `x` holds {count} images, not 1 to {MAX_IMAGES}"),
            ));
        }
        // [N, 1, 1, 1] as PCam stores them; [N] is accepted too.
        if y_shape.first() != Some(&count) || y_shape[1..].iter().any(|&d| d != 1) {
            return Err(DataError::format(
                format!("{xc} and {yc}"),
                format!(
                    "{count} images but labels of shape {y_shape:?} (expected [{count}, 1, 1, 1])"
                ),
            ));
        }
        // The declared counts must be backed by stored data before they size anything.
        backed(x, &xs, &x_shape, count * IMAGE_BYTES as u64, "x", xc)?;
        backed(y, &ys, &y_shape, count, "y", yc)?;
        let labels = read_labels(&ys, count, yc)?;
        let images = read_images(&xs, count, xc)?;
        Dataset::new(images, labels, 3, SIDE, SIDE, CLASSES)
    }

    /// [`check_backed`] for dataset `name` of `file`, whose shape declares `declared`
    /// bytes; the error names the file, the dataset and both sizes.
    fn backed(
        file: &File,
        ds: &H5Dataset,
        shape: &[u64],
        declared: u64,
        name: &str,
        context: &str,
    ) -> Result<()> {
        check_backed(ds, shape, declared, file.file_size()).map_err(|reason| {
            DataError::format(
                context,
                format!(
                    "dataset `{name}` of shape {shape:?} declares {declared} bytes, but {reason}"
                ),
            )
        })
    }

    fn read_labels(ys: &H5Dataset, count: u64, yc: &str) -> Result<Vec<usize>> {
        let raw = ys
            .read_raw()
            .map_err(|e| DataError::format(yc, format!("reading dataset `y`: {e}")))?;
        if raw.len() as u64 != count {
            return Err(DataError::format(
                yc,
                format!("dataset `y` gave {} bytes for {count} labels", raw.len()),
            ));
        }
        if let Some((i, &l)) = raw.iter().enumerate().find(|(_, &l)| l as usize >= CLASSES) {
            return Err(DataError::format(
                yc,
                format!("label {l} of image {i} is not 0 or 1"),
            ));
        }
        Ok(raw.into_iter().map(usize::from).collect())
    }

    /// Reads `count` HWC images window by window into `[N, C, H, W]` `f32` in `[0, 1]`.
    fn read_images(xs: &H5Dataset, count: u64, xc: &str) -> Result<Vec<f32>> {
        // count ≤ MAX_IMAGES, so this product fits in usize on 64-bit targets; checked
        // anyway for 32-bit ones.
        let values = usize::try_from(count)
            .ok()
            .and_then(|n| n.checked_mul(IMAGE_BYTES))
            .ok_or_else(|| DataError::format(xc, format!("{count} images do not fit in memory")))?;
        let mut images: Vec<f32> = Vec::new();
        // Reserved whole (the caller has checked that the file stores this much), so the
        // training split's 29 GB is one allocation that fails cleanly where memory lacks.
        images.try_reserve_exact(values).map_err(|_| {
            DataError::format(
                xc,
                format!(
                    "{count} images need {:.1} GB of memory as f32, which could not be allocated",
                    values as f64 * 4e-9
                ),
            )
        })?;
        let plane = SIDE * SIDE;
        let mut start = 0;
        while start < count {
            let rows = ROWS_PER_READ.min(count - start);
            let raw = xs.read_raw_rows(start, rows).map_err(|e| {
                DataError::format(xc, format!("reading images {start}..{}: {e}", start + rows))
            })?;
            if raw.len() as u64 != rows * IMAGE_BYTES as u64 {
                return Err(DataError::format(
                    xc,
                    format!(
                        "reading images {start}..{}: got {} bytes, expected {}",
                        start + rows,
                        raw.len(),
                        rows * IMAGE_BYTES as u64
                    ),
                ));
            }
            for hwc in raw.chunks_exact(IMAGE_BYTES) {
                // HWC → CHW: channel c of pixel p is byte 3·p + c.
                for c in 0..3 {
                    images.extend((0..plane).map(|p| pixel_value(hwc[3 * p + c])));
                }
            }
            start += rows;
        }
        Ok(images)
    }
}
