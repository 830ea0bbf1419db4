//! The element types a PyTorch storage can have, how torch names them, and how one element
//! becomes an `f32`.

use std::fmt;

/// The element type a tensor had in the PyTorch file. [`super::TorchTensor::data`] holds
/// its values converted to `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TorchDtype {
    /// `torch.float64`: rounded to the nearest `f32`.
    F64,
    /// `torch.float32`: exact.
    F32,
    /// `torch.float16`: exact.
    F16,
    /// `torch.bfloat16`: exact.
    BF16,
    /// `torch.int64` (e.g. a batch norm's `num_batches_tracked`): exact up to 2^24 in
    /// magnitude, rounded to the nearest `f32` beyond.
    I64,
    /// `torch.int32`: as `I64`.
    I32,
    /// `torch.int16`: exact.
    I16,
    /// `torch.int8`: exact.
    I8,
    /// `torch.uint8`: exact.
    U8,
    /// `torch.bool`: 0 or 1.
    Bool,
}

impl TorchDtype {
    /// Bytes per element in the storage.
    pub fn size(self) -> usize {
        match self {
            TorchDtype::F64 | TorchDtype::I64 => 8,
            TorchDtype::F32 | TorchDtype::I32 => 4,
            TorchDtype::F16 | TorchDtype::BF16 | TorchDtype::I16 => 2,
            TorchDtype::I8 | TorchDtype::U8 | TorchDtype::Bool => 1,
        }
    }

    /// Whether it is a floating-point type (parameters and running statistics are; counts
    /// such as `num_batches_tracked` are not).
    pub fn is_float(self) -> bool {
        matches!(
            self,
            TorchDtype::F64 | TorchDtype::F32 | TorchDtype::F16 | TorchDtype::BF16
        )
    }

    /// The type of a typed storage class, `torch.<Name>Storage` (the second item of
    /// torch's persistent id). `Err` carries what to say about a known type this reader
    /// does not convert.
    pub(crate) fn from_storage_class(name: &str) -> Option<Result<Self, &'static str>> {
        let t = match name {
            "DoubleStorage" => TorchDtype::F64,
            "FloatStorage" => TorchDtype::F32,
            "HalfStorage" => TorchDtype::F16,
            "BFloat16Storage" => TorchDtype::BF16,
            "LongStorage" => TorchDtype::I64,
            "IntStorage" => TorchDtype::I32,
            "ShortStorage" => TorchDtype::I16,
            "CharStorage" => TorchDtype::I8,
            "ByteStorage" => TorchDtype::U8,
            "BoolStorage" => TorchDtype::Bool,
            "ComplexFloatStorage" | "ComplexDoubleStorage" | "ComplexHalfStorage" => {
                return Some(Err("complex tensors are not read"))
            }
            "QInt8Storage" | "QUInt8Storage" | "QInt32Storage" | "QUInt4x2Storage"
            | "QUInt2x4Storage" => return Some(Err("quantized tensors are not read")),
            "UntypedStorage" => return Some(Err("an untyped storage needs the tensor's dtype")),
            _ => return None,
        };
        Some(Ok(t))
    }

    /// The type named by a `torch.<name>` dtype object (`torch.float32`, ...), as
    /// `_rebuild_tensor_v3` receives it.
    pub(crate) fn from_dtype_name(name: &str) -> Option<Self> {
        Some(match name {
            "float64" | "double" => TorchDtype::F64,
            "float32" | "float" => TorchDtype::F32,
            "float16" | "half" => TorchDtype::F16,
            "bfloat16" => TorchDtype::BF16,
            "int64" | "long" => TorchDtype::I64,
            "int32" | "int" => TorchDtype::I32,
            "int16" | "short" => TorchDtype::I16,
            "int8" => TorchDtype::I8,
            "uint8" => TorchDtype::U8,
            "bool" => TorchDtype::Bool,
            _ => return None,
        })
    }

    /// One element from its bytes (`b.len() == self.size()`), in the file's byte order.
    pub(crate) fn to_f32(self, b: &[u8], big_endian: bool) -> f32 {
        let mut a = [0u8; 8];
        let n = self.size();
        a[..n].copy_from_slice(&b[..n]);
        if big_endian {
            a[..n].reverse();
        }
        let [b0, b1, b2, b3, ..] = a;
        match self {
            TorchDtype::F64 => f64::from_le_bytes(a) as f32,
            TorchDtype::F32 => f32::from_le_bytes([b0, b1, b2, b3]),
            TorchDtype::F16 => f16_to_f32(u16::from_le_bytes([b0, b1])),
            TorchDtype::BF16 => f32::from_bits(u32::from(u16::from_le_bytes([b0, b1])) << 16),
            TorchDtype::I64 => i64::from_le_bytes(a) as f32,
            TorchDtype::I32 => i32::from_le_bytes([b0, b1, b2, b3]) as f32,
            TorchDtype::I16 => f32::from(i16::from_le_bytes([b0, b1])),
            TorchDtype::I8 => f32::from(b0 as i8),
            TorchDtype::U8 => f32::from(b0),
            TorchDtype::Bool => f32::from(u8::from(b0 != 0)),
        }
    }
}

impl fmt::Display for TorchDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            TorchDtype::F64 => "float64",
            TorchDtype::F32 => "float32",
            TorchDtype::F16 => "float16",
            TorchDtype::BF16 => "bfloat16",
            TorchDtype::I64 => "int64",
            TorchDtype::I32 => "int32",
            TorchDtype::I16 => "int16",
            TorchDtype::I8 => "int8",
            TorchDtype::U8 => "uint8",
            TorchDtype::Bool => "bool",
        };
        write!(f, "torch.{name}")
    }
}

/// IEEE 754 binary16 to binary32, exactly (every half value is a float value).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        // Subnormal: man · 2^-24, normalised for binary32.
        (0, _) => {
            let shift = man.leading_zeros() - 21; // brings the top set bit to bit 10
            let man = (man << shift) & 0x3ff;
            let exp = 127 - 15 + 1 - shift;
            sign | (exp << 23) | (man << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (man << 13), // infinity, NaN (payload kept)
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every binary16 value against its definition, computed in f64.
    #[test]
    fn f16_conversion_is_exact_for_every_value() {
        for h in 0..=u16::MAX {
            let got = f16_to_f32(h);
            let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
            let exp = i32::from((h >> 10) & 0x1f);
            let man = f64::from(h & 0x3ff);
            let want = match exp {
                0 => sign * man * 2f64.powi(-24),
                0x1f if man == 0.0 => sign * f64::INFINITY,
                0x1f => f64::NAN,
                _ => sign * (1.0 + man / 1024.0) * 2f64.powi(exp - 15),
            };
            if want.is_nan() {
                assert!(got.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(f64::from(got), want, "{h:#06x}");
                assert_eq!(got.is_sign_negative(), h >> 15 == 1, "{h:#06x}");
            }
        }
    }

    #[test]
    fn element_conversions() {
        assert_eq!(TorchDtype::BF16.to_f32(&[0x80, 0x3f], false), 1.0);
        assert_eq!(TorchDtype::BF16.to_f32(&[0x3f, 0x80], true), 1.0);
        assert_eq!(TorchDtype::I64.to_f32(&(-3i64).to_le_bytes(), false), -3.0);
        assert_eq!(TorchDtype::F64.to_f32(&0.1f64.to_be_bytes(), true), 0.1f32);
        assert_eq!(TorchDtype::I8.to_f32(&[0xff], false), -1.0);
        assert_eq!(TorchDtype::Bool.to_f32(&[2], false), 1.0);
        assert_eq!(TorchDtype::F16.to_f32(&[0x00, 0x3c], false), 1.0);
    }
}
