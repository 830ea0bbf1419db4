//! Which group a network is equivariant to, as a run-time value.
//!
//! Layers are configured from a config file, so they carry the group as this small enum
//! rather than as a type parameter: the tensor-level functions of this module
//! ([`Elements`](super::Elements), [`relative_coords`](super::relative_coords), ...)
//! read it from the elements they are given.

use crate::error::{Error, Result};

/// The three groups of docs/math.md §1: translations T(2), roto-translations SE(2) and
/// roto-reflections with translations E(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// Translations only: the stabiliser is {e}, one sample, an ordinary CNN.
    T2,
    /// Rotations: the stabiliser is SO(2), elements are angles.
    Se2,
    /// Rotations and mirrors: the stabiliser is O(2), elements are (angle, mirror).
    E2,
}

impl GroupKind {
    /// The name used in configs and reports: "T2", "SE2" or "E2".
    pub fn name(self) -> &'static str {
        match self {
            GroupKind::T2 => "T2",
            GroupKind::Se2 => "SE2",
            GroupKind::E2 => "E2",
        }
    }

    /// Dimension `s` of the stabiliser coordinates the kernel net sees
    /// (docs/math.md §2, §6): 0 for T(2), 1 for SE(2) (the angle), 2 for E(2) (angle and
    /// mirror).
    pub fn stabiliser_dim(self) -> usize {
        match self {
            GroupKind::T2 => 0,
            GroupKind::Se2 => 1,
            GroupKind::E2 => 2,
        }
    }

    /// True for E(2), whose elements carry a mirror.
    pub fn has_mirrors(self) -> bool {
        self == GroupKind::E2
    }

    /// How many samples a layer holds for `no_samples` = N: always 1 for T(2) (whatever
    /// N says, the stabiliser has one element), N otherwise. E(2) needs an even N ≥ 2.
    pub fn samples_for(self, no_samples: usize) -> Result<usize> {
        match self {
            GroupKind::T2 => Ok(1),
            _ => Ok(self.rotations_for(no_samples)? * if self.has_mirrors() { 2 } else { 1 }),
        }
    }

    /// The number of rotations N_r drawn for N samples (docs/math.md §3): N for SE(2), N/2
    /// for E(2) (each rotation comes with both mirrors), 1 for T(2).
    pub fn rotations_for(self, no_samples: usize) -> Result<usize> {
        match self {
            GroupKind::T2 => Ok(1),
            GroupKind::Se2 => {
                if no_samples == 0 {
                    return Err(Error::bad_arg(
                        "rotations_for",
                        "SE2 needs at least one sample",
                    ));
                }
                Ok(no_samples)
            }
            GroupKind::E2 => {
                if no_samples < 2 || !no_samples.is_multiple_of(2) {
                    return Err(Error::bad_arg(
                        "rotations_for",
                        alloc::format!(
                            "E2 pairs every rotation with both mirrors, so no_samples must be \
                             even and at least 2, not {no_samples}"
                        ),
                    ));
                }
                Ok(no_samples / 2)
            }
        }
    }
}

impl core::fmt::Display for GroupKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for GroupKind {
    type Err = Error;
    /// Accepts "T2", "SE2", "E2" and the forms "T(2)", "SE(2)", "E(2)", in any case.
    fn from_str(s: &str) -> Result<Self> {
        let cleaned: alloc::string::String = s
            .chars()
            .filter(|c| !matches!(c, '(' | ')' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match cleaned.as_str() {
            "T2" => Ok(GroupKind::T2),
            "SE2" => Ok(GroupKind::Se2),
            "E2" => Ok(GroupKind::E2),
            _ => Err(Error::bad_arg(
                "GroupKind::from_str",
                alloc::format!("unknown group {s:?}; expected T2, SE2 or E2"),
            )),
        }
    }
}
