//! The invariance error `pgcnn eval` reports: ~0 for a fully SE(2)-equivariant network
//! with the deterministic grid {0°, 90°, 180°, 270°} under quarter turns (exact pixel
//! permutations), clearly larger under 45° (off the grid, and interpolated) and under a
//! mirror (not in SE(2)).

mod eval_support;

use eval_support::{best, train_tiny};
use pgcnn::device::DeviceRequest;
use pgcnn::eval::{eval, transform_list, EvalOptions, Split};

#[test]
fn a_full_se2_network_is_invariant_to_quarter_turns_only() {
    let run = train_tiny(
        "full-se2",
        &[
            "conv.partial_equiv=false",
            "base_group.sampling_method=deterministic",
            "base_group.sample_per_layer=false",
        ],
    );
    let report = eval(EvalOptions {
        transforms: transform_list(&[0.0, 90.0, 180.0, 270.0, 45.0], true),
        device: DeviceRequest::Cpu.into(),
        split: Split::Val,
        ..EvalOptions::new(best(&run))
    })
    .unwrap();
    let rows = &report.measurements.transforms;
    let describe = report.table();
    for r in &rows[..4] {
        assert!(r.exact);
        assert!(
            r.invariance_error_max < 1e-4,
            "{}° should leave the logits unchanged:\n{describe}",
            r.transform.angle_degrees
        );
    }
    let quarter_max = rows[..4]
        .iter()
        .map(|r| r.invariance_error_mean)
        .fold(0.0, f64::max);
    let r45 = &rows[4];
    assert!(!r45.exact);
    assert!(
        r45.invariance_error_mean > 1e-3 && r45.invariance_error_mean > 100.0 * quarter_max,
        "45° should change the logits:\n{describe}"
    );
    for r in &rows[5..] {
        assert!(r.transform.mirror);
        assert!(
            r.invariance_error_mean > 1e-3,
            "a mirror is not in SE(2):\n{describe}"
        );
    }
    eprintln!("{describe}");
}
