//! The zip container of a PyTorch checkpoint, read in place: the central directory is
//! walked once, and an entry's bytes are a slice of the input (torch.save stores every
//! entry uncompressed, so nothing is inflated and nothing is copied).
//!
//! Why not the `zip` crate: its archive reader reserves room for as many entries as the
//! end-of-central-directory record claims, capped only by the directory's offset (a
//! `Vec::with_capacity` of its per-entry record), so a hostile file makes it allocate
//! hundreds of times its own size: measured with zip 8.6.0 (default features off), a
//! 65,605-byte file whose end record claims 65,535 entries, the directory starting at
//! byte 65,536, made it allocate 15,204,120 bytes at once (232 per claimed entry) before
//! it found the second entry missing, and zip64 records can claim more. Its entries are
//! also read through `Read`, so a storage would be copied where a slice suffices. What torch writes is the simplest zip there is (stored entries,
//! zip64 records for large files, no encryption, no multi-disk), and reading that is
//! what this file does, with every offset and length checked against the input, the
//! entry list grown one parsed 46-byte header at a time (so it is bounded by the
//! input's length), and the CRC-32 of each entry read checked.
//!
//! Format: PKWARE's APPNOTE.TXT (sections 4.3.7 local header, 4.3.12 central directory
//! header, 4.3.14–4.3.16 end-of-central-directory records, 4.5.3 the zip64 extra field).

use super::error::{corrupt, unsupported, Problem};
use std::collections::HashMap;

const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const LOCAL_HEADER_LEN: usize = 30;
const CENTRAL_HEADER_LEN: usize = 46;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_LEN: usize = 56;
/// The zip64 extended-information extra field (APPNOTE 4.5.3).
const ZIP64_EXTRA_ID: u16 = 0x0001;
/// The compression method of an entry stored as is.
const STORED: u16 = 0;

/// The bytes that start every zip archive (a local file header).
pub(crate) const ZIP_MAGIC: [u8; 4] = LOCAL_HEADER_SIG.to_le_bytes();

/// One entry of the central directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    /// The name as stored (torch writes ASCII names).
    pub name: &'a str,
    /// The compression method (0 = stored, 8 = deflate, ...).
    method: u16,
    /// The general-purpose flags (bit 0: encrypted).
    flags: u16,
    crc32: u32,
    compressed_size: u64,
    uncompressed_size: u64,
    /// Offset of the entry's local header.
    local_header: u64,
}

/// A zip archive over borrowed bytes.
pub(crate) struct Archive<'a> {
    bytes: &'a [u8],
    entries: Vec<Entry<'a>>,
    by_name: HashMap<&'a str, usize>,
}

/// A little-endian cursor over a slice that fails, instead of panicking, at its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| le_u16(b, 0))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| le_u64(b, 0))
    }
}

/// The little-endian integers at `at` of a record whose length was checked (the offsets
/// are constants of the format, inside the record).
fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from(le_u32(b, at)) | (u64::from(le_u32(b, at + 4)) << 32)
}

/// `bytes[start..start + len]` with the offsets checked (u64 as they come from the file).
fn slice(bytes: &[u8], start: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

/// Where the central directory is and how many entries it claims.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
}

impl<'a> Archive<'a> {
    /// Parses the end-of-central-directory record(s) and the central directory.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Problem> {
        let dir = find_directory(bytes)?;
        let table = slice(bytes, dir.offset, dir.size).ok_or_else(|| {
            corrupt(format!(
                "the central directory ({} bytes at offset {}) lies outside the file's {} bytes",
                dir.size,
                dir.offset,
                bytes.len()
            ))
        })?;
        let mut cur = Cursor {
            bytes: table,
            pos: 0,
        };
        // Grown entry by entry: each takes at least 46 bytes of the table, so the list
        // is bounded by the input whatever count the record claims.
        let mut entries = Vec::new();
        let mut by_name = HashMap::new();
        for index in 0..dir.entries {
            let entry = parse_central_header(&mut cur).map_err(|p| {
                p.at(&format!(
                    "central directory entry {index} (of {} claimed)",
                    dir.entries
                ))
            })?;
            if by_name.insert(entry.name, entries.len()).is_some() {
                return Err(corrupt(format!(
                    "the archive holds two entries named {:?}",
                    entry.name
                )));
            }
            entries.push(entry);
        }
        if cur.pos != table.len() {
            return Err(corrupt(format!(
                "the central directory has {} bytes after its {} entries",
                table.len() - cur.pos,
                dir.entries
            )));
        }
        Ok(Archive {
            bytes,
            entries,
            by_name,
        })
    }

    /// Every entry, in the central directory's order.
    pub(crate) fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    /// The entry with this exact name.
    pub(crate) fn entry(&self, name: &str) -> Option<&Entry<'a>> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// The bytes of `entry`: checks its local header, that it is stored uncompressed and
    /// unencrypted, that its bytes lie inside the file, and their CRC-32 (unless the
    /// archive recorded none: torch can be told not to compute it, and writes 0).
    pub(crate) fn read(&self, entry: &Entry<'a>) -> Result<&'a [u8], Problem> {
        let at = |p: Problem| p.at(&format!("entry {:?}", entry.name));
        if entry.flags & 1 != 0 {
            return Err(at(unsupported("it is encrypted")));
        }
        if entry.method != STORED {
            return Err(at(unsupported(format!(
                "it is compressed (method {}); torch.save stores entries uncompressed, and \
                 this reader reads only those (re-save the file with torch.save)",
                entry.method
            ))));
        }
        if entry.compressed_size != entry.uncompressed_size {
            return Err(at(corrupt(format!(
                "stored uncompressed, but its sizes differ ({} bytes compressed, {} uncompressed)",
                entry.compressed_size, entry.uncompressed_size
            ))));
        }
        let header =
            slice(self.bytes, entry.local_header, LOCAL_HEADER_LEN as u64).ok_or_else(|| {
                at(corrupt(format!(
                    "its local header at offset {} lies outside the file's {} bytes",
                    entry.local_header,
                    self.bytes.len()
                )))
            })?;
        // APPNOTE 4.3.7: the signature, and the name and extra field lengths at 26, 28.
        let (sig, name_len, extra_len) =
            (le_u32(header, 0), le_u16(header, 26), le_u16(header, 28));
        if sig != LOCAL_HEADER_SIG {
            return Err(at(corrupt(format!(
                "no local file header at offset {} (found 0x{sig:08x})",
                entry.local_header
            ))));
        }
        let name_start = entry.local_header + LOCAL_HEADER_LEN as u64;
        let local_name = slice(self.bytes, name_start, u64::from(name_len)).ok_or_else(|| {
            at(corrupt(
                "its local header's name runs past the end of the file",
            ))
        })?;
        if local_name != entry.name.as_bytes() {
            return Err(at(corrupt(format!(
                "its local header names it {:?}",
                String::from_utf8_lossy(local_name)
            ))));
        }
        let data_start = name_start + u64::from(name_len) + u64::from(extra_len);
        let data = slice(self.bytes, data_start, entry.uncompressed_size).ok_or_else(|| {
            at(corrupt(format!(
                "its {} bytes at offset {data_start} run past the end of the file ({} bytes; truncated?)",
                entry.uncompressed_size,
                self.bytes.len()
            )))
        })?;
        if entry.crc32 != 0 {
            let crc = crc32fast::hash(data);
            if crc != entry.crc32 {
                return Err(at(corrupt(format!(
                    "CRC-32 mismatch: the directory records {:08x}, the bytes give {crc:08x} \
                     (damaged file)",
                    entry.crc32
                ))));
            }
        }
        Ok(data)
    }
}

/// Finds the end-of-central-directory record (the last one whose comment reaches exactly
/// to the end of the file) and, where present, the zip64 record it points to.
fn find_directory(bytes: &[u8]) -> Result<Directory, Problem> {
    if bytes.len() < EOCD_LEN {
        return Err(corrupt(format!(
            "{} bytes, too short for a zip archive's end record (truncated?)",
            bytes.len()
        )));
    }
    let last = bytes.len() - EOCD_LEN;
    let first = last.saturating_sub(usize::from(u16::MAX));
    let eocd = (first..=last)
        .rev()
        .find(|&p| {
            bytes[p..p + 4] == EOCD_SIG.to_le_bytes()
                && usize::from(le_u16(bytes, p + 20)) == last - p
        })
        .ok_or_else(|| {
            corrupt(
                "no end-of-central-directory record at the end of the zip archive \
                 (truncated file?)",
            )
        })?;
    // APPNOTE 4.3.16, inside the record found above.
    let rec = &bytes[eocd..eocd + EOCD_LEN];
    let (disk, cd_disk, entries) = (le_u16(rec, 4), le_u16(rec, 6), le_u16(rec, 10));
    let (size, offset) = (le_u32(rec, 12), le_u32(rec, 16));
    if disk != 0 || cd_disk != 0 {
        return Err(unsupported("a multi-disk (split) zip archive"));
    }
    let mut dir = Directory {
        offset: u64::from(offset),
        size: u64::from(size),
        entries: u64::from(entries),
    };
    // A zip64 locator just before the record: the zip64 record holds the real values.
    if let Some(loc_start) = eocd.checked_sub(ZIP64_LOCATOR_LEN) {
        let loc = &bytes[loc_start..eocd];
        if loc[..4] == ZIP64_LOCATOR_SIG.to_le_bytes() {
            let record_offset = le_u64(loc, 8); // APPNOTE 4.3.15
            let rec = slice(bytes, record_offset, ZIP64_EOCD_LEN as u64).ok_or_else(|| {
                corrupt(format!(
                    "the zip64 end-of-directory record at offset {record_offset} lies outside \
                     the file"
                ))
            })?;
            // APPNOTE 4.3.14.
            let (sig, entries, size, offset) = (
                le_u32(rec, 0),
                le_u64(rec, 32),
                le_u64(rec, 40),
                le_u64(rec, 48),
            );
            if sig != ZIP64_EOCD_SIG {
                return Err(corrupt(format!(
                    "no zip64 end-of-directory record at offset {record_offset}, where the \
                     locator points"
                )));
            }
            dir = Directory {
                offset,
                size,
                entries,
            };
        }
    }
    Ok(dir)
}

/// One central directory header, with its zip64 extra field applied.
fn parse_central_header<'a>(cur: &mut Cursor<'a>) -> Result<Entry<'a>, Problem> {
    let truncated = || corrupt("the header runs past the end of the central directory");
    let h = cur.take(CENTRAL_HEADER_LEN).ok_or_else(truncated)?;
    // APPNOTE 4.3.12, at fixed offsets inside the 46 bytes just taken.
    let sig = le_u32(h, 0);
    let flags = le_u16(h, 8);
    let method = le_u16(h, 10);
    let crc32 = le_u32(h, 16);
    let compressed = le_u32(h, 20);
    let uncompressed = le_u32(h, 24);
    let (name_len, extra_len, comment_len) = (le_u16(h, 28), le_u16(h, 30), le_u16(h, 32));
    let local = le_u32(h, 42);
    if sig != CENTRAL_HEADER_SIG {
        return Err(corrupt(format!(
            "not a central directory header (signature 0x{sig:08x})"
        )));
    }
    let name = cur.take(usize::from(name_len)).ok_or_else(truncated)?;
    let extra = cur.take(usize::from(extra_len)).ok_or_else(truncated)?;
    cur.take(usize::from(comment_len)).ok_or_else(truncated)?;
    let name = std::str::from_utf8(name).map_err(|_| {
        corrupt(format!(
            "the entry name {:?} is not UTF-8",
            String::from_utf8_lossy(name)
        ))
    })?;
    let mut entry = Entry {
        name,
        method,
        flags,
        crc32,
        compressed_size: u64::from(compressed),
        uncompressed_size: u64::from(uncompressed),
        local_header: u64::from(local),
    };
    apply_zip64_extra(&mut entry, extra, (uncompressed, compressed, local))
        .map_err(|p| p.at(&format!("entry {name:?}")))?;
    Ok(entry)
}

/// Replaces the 32-bit fields saturated at `0xFFFF_FFFF` by the 64-bit values of the
/// zip64 extra field (which holds, in this order, only the fields that are saturated).
fn apply_zip64_extra(
    entry: &mut Entry,
    extra: &[u8],
    (uncompressed, compressed, local): (u32, u32, u32),
) -> Result<(), Problem> {
    const FULL: u32 = u32::MAX;
    if uncompressed != FULL && compressed != FULL && local != FULL {
        return Ok(());
    }
    let mut cur = Cursor {
        bytes: extra,
        pos: 0,
    };
    while cur.pos < extra.len() {
        let (Some(id), Some(len)) = (cur.u16(), cur.u16()) else {
            return Err(corrupt("its extra field is truncated"));
        };
        let data = cur
            .take(usize::from(len))
            .ok_or_else(|| corrupt("its extra field is truncated"))?;
        if id != ZIP64_EXTRA_ID {
            continue;
        }
        let mut z = Cursor {
            bytes: data,
            pos: 0,
        };
        let short = || corrupt("its zip64 extra field is shorter than the fields it replaces");
        if uncompressed == FULL {
            entry.uncompressed_size = z.u64().ok_or_else(short)?;
        }
        if compressed == FULL {
            entry.compressed_size = z.u64().ok_or_else(short)?;
        }
        if local == FULL {
            entry.local_header = z.u64().ok_or_else(short)?;
        }
        return Ok(());
    }
    Err(corrupt(
        "sizes or offset saturated at 0xFFFFFFFF without a zip64 extra field",
    ))
}
