//! Builders of hostile PyTorch checkpoints for the tests: a zip archive laid out as
//! torch.save lays it out (stored entries, CRC-32s), around any `data.pkl` bytes.

#![allow(dead_code)] // each test file uses part of it

/// A zip archive of stored (uncompressed) entries, in order, with a central directory
/// and an end record; names and bytes as given.
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes()); // version made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&[0; 4]); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
                h.extend_from_slice(&[0; 4]); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend_from_slice(&header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend_from_slice(&header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disks
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out
}

/// A torch-layout archive (`archive/data.pkl`, `archive/data/<key>`, `archive/version`)
/// around the given pickle and storages.
pub fn torch_zip(pickle: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    let names: Vec<String> = storages
        .iter()
        .map(|(k, _)| format!("archive/data/{k}"))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("archive/data.pkl", pickle)];
    for (name, (_, data)) in names.iter().zip(storages) {
        entries.push((name, data));
    }
    entries.push(("archive/version", b"3\n"));
    stored_zip(&entries)
}

/// Pickle bytes for `{"w": _rebuild_tensor_v2(('storage', torch.FloatStorage, '0',
/// 'cpu', numel), offset, size, stride, False, OrderedDict())}`, protocol 2, as torch
/// writes it (without the memo).
pub fn tensor_pickle(numel: i32, offset: i32, size: &[i32], stride: &[i32]) -> Vec<u8> {
    let mut p = b"\x80\x02ccollections\nOrderedDict\n)R(".to_vec();
    p.extend_from_slice(&unicode("w"));
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
    p.push(b'(');
    p.extend_from_slice(&unicode("storage"));
    p.extend_from_slice(b"ctorch\nFloatStorage\n");
    p.extend_from_slice(&unicode("0"));
    p.extend_from_slice(&unicode("cpu"));
    p.extend_from_slice(&int(numel));
    p.extend_from_slice(b"tQ"); // TUPLE, BINPERSID
    p.extend_from_slice(&int(offset));
    for dims in [size, stride] {
        p.push(b'(');
        for &d in dims {
            p.extend_from_slice(&int(d));
        }
        p.push(b't');
    }
    p.extend_from_slice(b"\x89ccollections\nOrderedDict\n)R"); // False, OrderedDict()
    p.extend_from_slice(b"tR"); // the arguments, REDUCE
    p.extend_from_slice(b"u."); // SETITEMS, STOP
    p
}

/// BINUNICODE.
pub fn unicode(s: &str) -> Vec<u8> {
    let mut v = vec![b'X'];
    v.extend_from_slice(&(s.len() as u32).to_le_bytes());
    v.extend_from_slice(s.as_bytes());
    v
}

/// BININT.
pub fn int(i: i32) -> Vec<u8> {
    let mut v = vec![b'J'];
    v.extend_from_slice(&i.to_le_bytes());
    v
}

/// Little-endian f32 bytes.
pub fn floats(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A pickle of a list nested `depth` deep, each level holding the level below twice
/// (through the memo): 2^depth items for a reader that copies what the memo shares.
pub fn nested_through_memo(depth: u32) -> Vec<u8> {
    let mut p = b"\x80\x02]r\x00\x00\x00\x00".to_vec();
    for level in 1..=depth {
        p.extend_from_slice(b"](j");
        p.extend_from_slice(&(level - 1).to_le_bytes());
        p.push(b'j');
        p.extend_from_slice(&(level - 1).to_le_bytes());
        p.extend_from_slice(b"er");
        p.extend_from_slice(&level.to_le_bytes());
    }
    p.push(b'.');
    p
}

/// A protocol-4 pickle of a list of `count` globals (STACK_GLOBAL) that all take their
/// module name, `name_len` bytes long, from the memo: a reader that copies it holds
/// `count · name_len` bytes.
pub fn globals_sharing_a_name(name_len: usize, count: usize) -> Vec<u8> {
    let mut p = b"\x80\x04".to_vec();
    p.extend_from_slice(&unicode(&"m".repeat(name_len)));
    p.extend_from_slice(b"q\x00");
    p.extend_from_slice(&unicode("n"));
    p.extend_from_slice(b"q\x01(");
    for _ in 0..count {
        p.extend_from_slice(b"h\x00h\x01\x93");
    }
    p.extend_from_slice(b"l.");
    p
}

/// `zip` (as `stored_zip` writes it, no comment) with a zip64 end record and locator
/// inserted before its end record, the zip64 record claiming 2^64 − 1 entries and the
/// end record 0xFFFF.
pub fn zip64_claiming_all_entries(mut zip: Vec<u8>) -> Vec<u8> {
    let eocd = zip.len() - 22;
    let field = |at: usize| u64::from(u32::from_le_bytes(zip[at..at + 4].try_into().unwrap()));
    let (cd_size, cd_offset) = (field(eocd + 12), field(eocd + 16));
    let mut record = 0x0606_4b50u32.to_le_bytes().to_vec();
    record.extend_from_slice(&44u64.to_le_bytes()); // size of the rest
    record.extend_from_slice(&[45, 0, 45, 0]); // versions
    record.extend_from_slice(&[0; 8]); // disks
    record.extend_from_slice(&u64::MAX.to_le_bytes()); // entries on this disk
    record.extend_from_slice(&u64::MAX.to_le_bytes()); // entries
    record.extend_from_slice(&cd_size.to_le_bytes());
    record.extend_from_slice(&cd_offset.to_le_bytes());
    let mut locator = 0x0706_4b50u32.to_le_bytes().to_vec();
    locator.extend_from_slice(&0u32.to_le_bytes());
    locator.extend_from_slice(&(eocd as u64).to_le_bytes());
    locator.extend_from_slice(&1u32.to_le_bytes());
    let mut end = zip.split_off(eocd);
    end[8..12].copy_from_slice(&[0xff; 4]);
    zip.extend_from_slice(&record);
    zip.extend_from_slice(&locator);
    zip.extend_from_slice(&end);
    zip
}
