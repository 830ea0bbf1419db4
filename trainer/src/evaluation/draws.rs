//! How many draws an evaluation averages, and how it draws.

use crate::config::EvalMode;

/// The number of draws a sampled evaluation of a model that draws at evaluation time
/// averages when the config leaves `train.eval_draws` at 0 (automatic). Chosen by
/// measurement (docs/evaluation.md): the smallest count at which the test accuracy of
/// the MNIST6-M model the averaging was built for stopped depending on the evaluation
/// seed by more than a point.
pub const DEFAULT_EVAL_DRAWS: usize = 8;

/// How an evaluation makes its forward passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draws {
    /// Independent draws whose logits are averaged (1 for a most-likely evaluation).
    pub count: usize,
    /// Sampled or most likely.
    pub mode: EvalMode,
}

impl Draws {
    /// One sampled draw: the reference's evaluation.
    pub const SINGLE: Draws = Draws {
        count: 1,
        mode: EvalMode::Sample,
    };

    /// The draws an evaluation makes, given the configured count (`requested`, 0 =
    /// automatic) and mode, and whether the model draws anything at evaluation time
    /// ([`Model::draws_in_evaluation`](pgcnn_core::models::Model::draws_in_evaluation)):
    /// a model that draws nothing, or a most-likely evaluation, needs one pass, since
    /// every further one would give the same logits.
    pub fn resolve(requested: usize, mode: EvalMode, model_draws: bool) -> Draws {
        let count = match (mode, model_draws, requested) {
            (EvalMode::MostLikely, _, _) | (_, false, _) => 1,
            (EvalMode::Sample, true, 0) => DEFAULT_EVAL_DRAWS,
            (EvalMode::Sample, true, k) => k,
        };
        Draws { count, mode }
    }

    /// The other mode's evaluation, for a report beside this one (`requested` as in
    /// [`Draws::resolve`]).
    pub fn other(self, requested: usize) -> Draws {
        match self.mode {
            EvalMode::Sample => Draws {
                count: 1,
                mode: EvalMode::MostLikely,
            },
            EvalMode::MostLikely => Draws::resolve(requested, EvalMode::Sample, true),
        }
    }

    /// For messages: "8 draws averaged", "1 draw", "most likely".
    pub fn describe(self) -> String {
        match (self.mode, self.count) {
            (EvalMode::MostLikely, _) => "most likely".into(),
            (EvalMode::Sample, 1) => "1 draw".into(),
            (EvalMode::Sample, k) => format!("{k} draws averaged"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution() {
        let sample = EvalMode::Sample;
        let most = EvalMode::MostLikely;
        assert_eq!(Draws::resolve(0, sample, true).count, DEFAULT_EVAL_DRAWS);
        assert_eq!(Draws::resolve(5, sample, true).count, 5);
        assert_eq!(Draws::resolve(5, sample, false).count, 1);
        assert_eq!(Draws::resolve(0, most, true).count, 1);
        assert_eq!(Draws::resolve(0, most, true).other(3).count, 3);
        assert_eq!(Draws::resolve(4, sample, true).other(4).mode, most);
        assert_eq!(
            Draws::resolve(4, sample, true).describe(),
            "4 draws averaged"
        );
        assert_eq!(Draws::SINGLE.describe(), "1 draw");
    }
}
