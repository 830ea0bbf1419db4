//! Checkpoint inputs the fuzz targets in fuzz/ (or their review) found mishandled, each
//! kept as a test once fixed.

use pgcnn::checkpoint::{Checkpoint, CheckpointError, NamedTensor};
use pgcnn_core::reference::Reference;

/// A checkpoint whose optimiser metadata lists `positions` and `slots` over one stored
/// tensor `optim.0.exp_avg`.
fn optimiser_checkpoint(positions: &str, slots: &str) -> Checkpoint {
    let mut ck = Checkpoint::new("seed = 1\n");
    ck.push(NamedTensor::new("optim.0.exp_avg", vec![4], vec![1.0; 4]).unwrap())
        .unwrap();
    ck.metadata.insert("optim.algorithm".into(), "adam".into());
    ck.metadata.insert("optim.step_count".into(), "1".into());
    ck.metadata.insert("optim.0.step".into(), "1".into());
    ck.metadata
        .insert("optim.positions".into(), positions.into());
    ck.metadata.insert("optim.slots".into(), slots.into());
    ck
}

fn invalid_reason(ck: &Checkpoint) -> String {
    match ck.optimizer_state(&Reference) {
        Err(CheckpointError::Invalid(reason)) => reason,
        Err(other) => panic!("expected an invalid-value error, got {other}"),
        Ok(_) => panic!("accepted"),
    }
}

/// A position (or slot) listed many times made the reader upload the same stored tensor
/// once per mention: a file of a few kilobytes listing position 0 a million times asked
/// for a million copies. Each may now appear once.
#[test]
fn optimiser_positions_and_slots_listed_twice_are_refused() {
    let ok = optimiser_checkpoint("0", "exp_avg");
    assert_eq!(
        ok.optimizer_state(&Reference).expect("valid").params.len(),
        1
    );

    let many = vec!["0"; 1000].join(",");
    let reason = invalid_reason(&optimiser_checkpoint(&many, "exp_avg"));
    assert!(reason.contains("position 0 twice"), "{reason}");

    let reason = invalid_reason(&optimiser_checkpoint("0", "exp_avg,exp_avg"));
    assert!(reason.contains("slot \"exp_avg\" twice"), "{reason}");
}
