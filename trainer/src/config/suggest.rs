//! "Did you mean ...?": the closest candidates to a mistyped name, by edit distance.

use strsim::levenshtein;

/// Distance from `given` to `candidate`, both dotted keys or plain names.
///
/// The smallest of: the distance between the whole strings; one more than the distance
/// between their last segments (so `lr` is one edit from `train.lr`, and `net.omega0`
/// one from `kernel.omega0`, where whole-string distance alone would prefer an unrelated
/// short key); and 1 or 2 where `given` is a prefix of the candidate or of its last
/// segment.
fn distance(given: &str, candidate: &str) -> usize {
    let whole = levenshtein(given, candidate);
    let last = |s: &'_ str| -> String { s.rsplit('.').next().unwrap_or(s).to_string() };
    let (given_leaf, candidate_leaf) = (last(given), last(candidate));
    let by_leaf = levenshtein(&given_leaf, &candidate_leaf) + 1;
    // A cut-off name (`warmup` for `warmup_epochs`) is close however much is missing.
    let by_prefix = if candidate.starts_with(given) && given_leaf.len() >= 3 {
        1
    } else if candidate_leaf.starts_with(&given_leaf) && given_leaf.len() >= 4 {
        2
    } else {
        usize::MAX
    };
    whole.min(by_leaf).min(by_prefix)
}

/// Indices of the candidates closest to `given`, best first, at most three, all at the
/// same (smallest) distance; empty when none is close enough to be a plausible typo
/// (more than a third of the name's length away, and at least two edits allowed).
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    let scored: Vec<(usize, usize)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i, distance(given, c)))
        .collect();
    let Some(best) = scored.iter().map(|&(_, d)| d).min() else {
        return Vec::new();
    };
    let leaf_len = given.rsplit('.').next().unwrap_or(given).chars().count();
    let allowed = (leaf_len / 3).max(2);
    if best > allowed {
        return Vec::new();
    }
    scored
        .into_iter()
        .filter(|&(_, d)| d == best)
        .map(|(i, _)| i)
        .take(3)
        .collect()
}

/// The closest candidates as strings (see [`closest`]).
pub fn closest_names(given: &str, candidates: &[&str]) -> Vec<String> {
    closest(given, candidates.iter().copied())
        .into_iter()
        .map(|i| candidates[i].to_string())
        .collect()
}

/// "; did you mean `a`?" or "; did you mean `a` or `b`?", or nothing.
pub fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("`{s}`")).collect();
            format!("; did you mean {}?", quoted.join(" or "))
        }
    }
}
