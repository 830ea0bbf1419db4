//! Shared helpers of the cross-crate tests.

/// The runnable example of docs/groups-and-layers.md, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/groups-and-layers.md")]
pub struct GroupsAndLayersDoc;
