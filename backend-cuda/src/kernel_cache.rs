//! Compiled kernels kept on disk, so that every process after the first on a machine
//! skips NVRTC (about two seconds for the whole program).
//!
//! Where: `PGCNN_KERNEL_CACHE` names the folder (`off` turns the cache off); otherwise
//! `$XDG_CACHE_HOME/pgcnn/kernels`, else `$HOME/.cache/pgcnn/kernels`.
//!
//! An entry is found by its *identity*: the target, NVRTC's version, the compile
//! options and a hash of the whole program text, so that any change to the sources, the
//! compiler or the GPU's architecture makes a new entry rather than reusing a stale one.
//! Each file holds a magic tag, the full identity and a checksum of the image after it;
//! a file that does not match in every part (another identity under a colliding name, a
//! truncated or damaged file) is a miss. Files are written under a temporary name and
//! renamed into place, so a reader never sees a half-written entry, and concurrent
//! processes that compile the same program write the same bytes. The cache is an
//! optimisation: failing to read or write it never fails the backend.

use std::path::{Path, PathBuf};

/// The environment variable that moves (or, set to `off`, disables) the cache.
pub const CACHE_VAR: &str = "PGCNN_KERNEL_CACHE";

const MAGIC: &[u8; 8] = b"PGCNNK1\0";

/// 64-bit FNV-1a: a stable hash (the same on every machine and Rust release), which
/// std's hashers do not promise.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A folder of compiled kernel images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelCache {
    dir: PathBuf,
}

/// Where an image came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// Read from the disk cache.
    Disk,
    /// Compiled by NVRTC in this process.
    Compiled,
}

impl KernelCache {
    /// The cache in `dir` (created when first written).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        KernelCache { dir: dir.into() }
    }

    /// The cache the environment asks for (module docs), or None when it is turned off
    /// or no folder can be named.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Self::choose(var(CACHE_VAR), var("XDG_CACHE_HOME"), var("HOME"))
    }

    /// [`KernelCache::from_env`] with the variables' values given.
    fn choose(
        explicit: Option<std::ffi::OsString>,
        xdg_cache: Option<std::ffi::OsString>,
        home: Option<std::ffi::OsString>,
    ) -> Option<Self> {
        if let Some(dir) = explicit {
            return (!dir.eq_ignore_ascii_case("off")).then(|| Self::at(dir));
        }
        if let Some(xdg) = xdg_cache {
            return Some(Self::at(Path::new(&xdg).join("pgcnn").join("kernels")));
        }
        home.map(|h| Self::at(Path::new(&h).join(".cache").join("pgcnn").join("kernels")))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `identity` (`arch` keeps the names readable).
    pub fn file(&self, arch: &str, identity: &str) -> PathBuf {
        let arch: String = arch
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        self.dir.join(format!(
            "kernels-{arch}-{:016x}.bin",
            fnv1a(identity.as_bytes())
        ))
    }

    /// The image stored for `identity`, if a whole, matching entry is there.
    pub fn load(&self, arch: &str, identity: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.file(arch, identity)).ok()?;
        decode(&bytes, identity)
    }

    /// Stores `image` for `identity`, replacing any entry.
    pub fn store(&self, arch: &str, identity: &str, image: &[u8]) -> Result<(), String> {
        let path = self.file(arch, identity);
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating {}: {e}", self.dir.display()))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let write = std::fs::write(&tmp, encode(identity, image))
            .and_then(|()| std::fs::rename(&tmp, &path));
        write.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("writing {}: {e}", path.display())
        })
    }

    /// Removes the entry of `identity` (an image the driver refused).
    pub fn forget(&self, arch: &str, identity: &str) {
        let _ = std::fs::remove_file(self.file(arch, identity));
    }

    /// The stored image of `identity`, or `compile`'s, stored for next time (a failure
    /// to store is ignored: the image is still good).
    pub fn get_or_compile(
        &self,
        arch: &str,
        identity: &str,
        compile: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<(Vec<u8>, ImageSource), String> {
        if let Some(image) = self.load(arch, identity) {
            return Ok((image, ImageSource::Disk));
        }
        let image = compile()?;
        let _ = self.store(arch, identity, &image);
        Ok((image, ImageSource::Compiled))
    }
}

/// `MAGIC, identity length (u64 LE), identity, image length (u64 LE), image, FNV-1a of
/// the image (u64 LE)`.
fn encode(identity: &str, image: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 24 + identity.len() + image.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(identity.len() as u64).to_le_bytes());
    out.extend_from_slice(identity.as_bytes());
    out.extend_from_slice(&(image.len() as u64).to_le_bytes());
    out.extend_from_slice(image);
    out.extend_from_slice(&fnv1a(image).to_le_bytes());
    out
}

/// The image of an entry written by [`encode`] for `identity`; None for anything else.
fn decode(bytes: &[u8], identity: &str) -> Option<Vec<u8>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Some(head)
    }
    fn take_u64(b: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
    }
    let mut b = bytes;
    if take(&mut b, MAGIC.len())? != MAGIC {
        return None;
    }
    let id_len = usize::try_from(take_u64(&mut b)?).ok()?;
    if take(&mut b, id_len)? != identity.as_bytes() {
        return None;
    }
    let image_len = usize::try_from(take_u64(&mut b)?).ok()?;
    let image = take(&mut b, image_len)?;
    let sum = take_u64(&mut b)?;
    (b.is_empty() && sum == fnv1a(image) && !image.is_empty()).then(|| image.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pgcnn-kernel-cache-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // The reference values of FNV-1a 64.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_folder_follows_the_environment() {
        let os = |s: &str| Some(std::ffi::OsString::from(s));
        let dir = |c: Option<KernelCache>| c.map(|c| c.dir().to_path_buf());
        assert_eq!(
            dir(KernelCache::choose(os("/x/k"), os("/xdg"), os("/home/u"))),
            Some(PathBuf::from("/x/k"))
        );
        assert_eq!(
            KernelCache::choose(os("OFF"), os("/xdg"), os("/home/u")),
            None
        );
        assert_eq!(
            dir(KernelCache::choose(None, os("/xdg"), os("/home/u"))),
            Some(PathBuf::from("/xdg/pgcnn/kernels"))
        );
        assert_eq!(
            dir(KernelCache::choose(None, None, os("/home/u"))),
            Some(PathBuf::from("/home/u/.cache/pgcnn/kernels"))
        );
        assert_eq!(KernelCache::choose(None, None, None), None);
    }

    #[test]
    fn an_entry_is_read_back_and_compiles_once() {
        let dir = scratch("roundtrip");
        let cache = KernelCache::at(&dir);
        let image = vec![7u8, 0, 1, 255, 42];
        let mut compiles = 0;
        let mut get = |id: &str| {
            cache
                .get_or_compile("sm_90", id, || {
                    compiles += 1;
                    Ok(image.clone())
                })
                .unwrap()
        };
        assert_eq!(get("id one"), (image.clone(), ImageSource::Compiled));
        assert_eq!(get("id one"), (image.clone(), ImageSource::Disk));
        // Another identity is another entry.
        assert_eq!(get("id two"), (image.clone(), ImageSource::Compiled));
        assert_eq!(compiles, 2);
        let name = cache.file("sm_90", "id one");
        assert!(name
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("kernels-sm_90-"));
        // No temporary file is left behind.
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(files, 2);
        cache.forget("sm_90", "id one");
        assert_eq!(cache.load("sm_90", "id one"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_or_foreign_entries_are_misses() {
        let dir = scratch("damaged");
        let cache = KernelCache::at(&dir);
        let image: Vec<u8> = (0..200u8).collect();
        cache.store("sm_90", "the id", &image).unwrap();
        let path = cache.file("sm_90", "the id");
        let good = std::fs::read(&path).unwrap();
        assert_eq!(decode(&good, "the id"), Some(image.clone()));
        // A file at this name written for another identity (a hash collision).
        assert_eq!(decode(&good, "another id"), None);
        // Every truncation, and a flipped bit anywhere.
        for n in 0..good.len() {
            assert_eq!(decode(&good[..n], "the id"), None, "truncated to {n}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            assert_eq!(decode(&bad, "the id"), None, "bit flipped in byte {i}");
        }
        // Trailing garbage, and an empty image.
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode(&long, "the id"), None);
        assert_eq!(decode(&encode("the id", &[]), "the id"), None);
        // A damaged file on disk is recompiled and replaced.
        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        let (again, source) = cache
            .get_or_compile("sm_90", "the id", || Ok(image.clone()))
            .unwrap();
        assert_eq!((again, source), (image.clone(), ImageSource::Compiled));
        assert_eq!(cache.load("sm_90", "the id"), Some(image));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_folder_still_compiles() {
        let dir = scratch("unwritable");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        // A file where the folder should be: nothing can be stored under it.
        std::fs::write(&dir, b"not a folder").unwrap();
        let cache = KernelCache::at(dir.join("kernels"));
        assert!(cache.store("sm_90", "id", &[1, 2, 3]).is_err());
        let got = cache.get_or_compile("sm_90", "id", || Ok(vec![1, 2, 3]));
        assert_eq!(got, Ok((vec![1, 2, 3], ImageSource::Compiled)));
        let failed = cache.get_or_compile("sm_90", "id", || Err("no NVRTC".to_string()));
        assert_eq!(failed, Err("no NVRTC".to_string()));
        std::fs::remove_file(&dir).unwrap();
    }
}
