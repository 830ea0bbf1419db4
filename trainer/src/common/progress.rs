//! The progress bar of an evaluation.

use indicatif::{ProgressBar, ProgressStyle};

/// The progress bar of an evaluation over `batches` batches, labelled `label` (hidden
/// unless `show`): `pgcnn eval`'s, and a training run's validation and test.
pub fn batches_bar(show: bool, batches: usize, label: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches ({eta})")
            .expect("the template is a valid constant")
            .progress_chars("=> "),
    );
    bar.set_prefix(label);
    bar
}
