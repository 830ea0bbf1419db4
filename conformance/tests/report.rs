//! The report's comparisons on hand-made results: what passes and what fails each
//! measure, special values included.

use pgcnn_conformance::{ulp_distance, Report};
use pgcnn_core::Error;

fn failures(check: impl FnOnce(&mut Report)) -> usize {
    let mut r = Report::new("test");
    check(&mut r);
    r.failures().len()
}

#[test]
fn ulp_distances() {
    let one = 1.0f32;
    assert_eq!(ulp_distance(one, f32::from_bits(one.to_bits() + 1)), 1);
    assert_eq!(ulp_distance(0.0f32, -0.0), 0);
    assert_eq!(ulp_distance(f32::NAN, -f32::NAN), 0);
    assert_eq!(ulp_distance(f32::NAN, 1.0), u64::MAX);
    let tiny = f64::from_bits(1);
    assert_eq!(ulp_distance(-tiny, tiny), 2);
    assert_eq!(ulp_distance(f64::MAX, f64::INFINITY), 1);
    assert_eq!(ulp_distance(-2.0f64, 2.0), 2 * 2.0f64.to_bits());
}

#[test]
fn within_ulps_and_exact() {
    let next = f32::from_bits(3.0f32.to_bits() + 1);
    assert_eq!(
        failures(|r| r.within_ulps("1 ulp", Ok(vec![next]), &[3.0], 1)),
        0
    );
    assert_eq!(failures(|r| r.exact("exact", Ok(vec![next]), &[3.0f32])), 1);
    assert_eq!(
        failures(|r| r.exact("zeros", Ok(vec![-0.0, f64::NAN]), &[0.0, f64::NAN])),
        0
    );
    assert_eq!(
        failures(|r| r.exact("NaN for a number", Ok(vec![f64::NAN]), &[1.0])),
        1
    );
    assert_eq!(
        failures(|r| r.exact("length", Ok(vec![1.0f32]), &[1.0, 2.0])),
        1
    );
    let refused = Err(Error::BadArgument {
        op: "test",
        reason: "refused".into(),
    });
    assert_eq!(failures(|r| r.exact::<f32>("error", refused, &[])), 1);
}

#[test]
fn close_with_special_values() {
    // The scale is the largest finite expected magnitude: an infinity expected elsewhere
    // does not excuse a wrong finite value.
    let want = [f64::INFINITY, 1.0, f64::NAN];
    let ok = vec![f64::INFINITY, 1.0 + 1e-13, f64::NAN];
    assert_eq!(failures(|r| r.close("ok", Ok(ok), &want, 1e-11)), 0);
    let wrong = vec![f64::INFINITY, 1.5, f64::NAN];
    assert_eq!(failures(|r| r.close("finite", Ok(wrong), &want, 1e-11)), 1);
    let lost = vec![f64::MAX, 1.0, f64::NAN];
    assert_eq!(failures(|r| r.close("infinity", Ok(lost), &want, 1e-11)), 1);
    let nan = vec![f64::INFINITY, 1.0, 0.0];
    assert_eq!(failures(|r| r.close("NaN", Ok(nan), &want, 1e-11)), 1);
}

#[test]
fn the_digest_follows_the_bits() {
    let digest = |v: Vec<f32>| {
        let mut r = Report::new("test");
        let want = v.clone();
        r.close("v", Ok(v), &want, 1e-4);
        r.digest()
    };
    assert_eq!(digest(vec![1.0, 2.0]), digest(vec![1.0, 2.0]));
    assert_ne!(digest(vec![1.0, 2.0]), digest(vec![1.0, -2.0]));
    assert_ne!(digest(vec![0.0]), digest(vec![-0.0]));
}
