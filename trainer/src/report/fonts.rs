//! Fonts for the plots, embedded so that `pgcnn report` needs nothing from the system.
//!
//! plotters' default `ttf` feature finds fonts through font-kit, which needs fontconfig
//! and freetype (system libraries) on Linux. pgcnn builds plotters with its `ab_glyph`
//! feature instead: ab_glyph rasterises text in pure Rust from font bytes registered
//! here, and the bytes are DejaVu Sans from the `dejavu` crate (compiled into the
//! binary, about 0.7 MB). The family names that plotters and this module use
//! (`sans-serif`, `serif`, `monospace`) all map to it. SVG files name the family
//! `sans-serif` and are rendered with the viewer's fonts; the embedded font is used to
//! measure their text for the layout.

use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// The family name the plots ask for.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded fonts with plotters once per process; later calls return the
/// first call's outcome.
pub(crate) fn ensure_registered() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let faces: [(&str, FontStyle, &'static [u8]); 5] = [
                (FAMILY, FontStyle::Normal, dejavu::sans::regular()),
                (FAMILY, FontStyle::Bold, dejavu::sans::bold()),
                (FAMILY, FontStyle::Oblique, dejavu::sans::oblique()),
                ("serif", FontStyle::Normal, dejavu::sans::regular()),
                ("monospace", FontStyle::Normal, dejavu::sans_mono::regular()),
            ];
            for (family, style, bytes) in faces {
                register_font(family, style, bytes).map_err(|_| {
                    format!(
                        "the embedded font for {family:?} ({}) cannot be parsed",
                        style.as_str()
                    )
                })?;
            }
            Ok(())
        })
        .clone()
}
