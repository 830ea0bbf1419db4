//! Which keys of two TOML configurations differ: the check that refuses to resume (or
//! evaluate) a checkpoint under a configuration it was not trained with, and says why.

use super::error::{CheckpointError, ConfigDifference, Result};
use toml::{Table, Value};

/// The dotted keys on which `stored` (the checkpoint's configuration) and `expected`
/// (the current run's) differ, in key order. Both are parsed, so formatting, comments
/// and key order do not matter; an integer and a float of the same value are equal
/// (`lr = 1` and `lr = 1.0`). Arrays are compared whole and reported under their key.
pub fn config_differences(stored: &str, expected: &str) -> Result<Vec<ConfigDifference>> {
    let stored = parse(stored, "the checkpoint's")?;
    let expected = parse(expected, "the expected")?;
    let mut out = Vec::new();
    diff_tables("", &stored, &expected, &mut out);
    Ok(out)
}

fn parse(text: &str, which: &'static str) -> Result<Table> {
    toml::from_str::<Table>(text).map_err(|e| CheckpointError::ConfigSyntax {
        which,
        reason: e.to_string(),
    })
}

fn diff_tables(prefix: &str, a: &Table, b: &Table, out: &mut Vec<ConfigDifference>) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (a.get(key), b.get(key)) {
            (Some(Value::Table(ta)), Some(Value::Table(tb))) => diff_tables(&dotted, ta, tb, out),
            (va, vb) => {
                let same = match (va, vb) {
                    (Some(x), Some(y)) => values_equal(x, y),
                    _ => false,
                };
                if !same {
                    out.push(ConfigDifference {
                        key: dotted,
                        stored: va.map(show),
                        expected: vb.map(show),
                    });
                }
            }
        }
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(i), Value::Float(f)) | (Value::Float(f), Value::Integer(i)) => {
            *f == *i as f64
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| values_equal(x, y))
        }
        (Value::Table(ta), Value::Table(tb)) => {
            ta.len() == tb.len()
                && ta
                    .iter()
                    .all(|(k, x)| tb.get(k).is_some_and(|y| values_equal(x, y)))
        }
        _ => a == b,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Table(_) => "{...}".to_string(),
        other => other.to_string(),
    }
}
