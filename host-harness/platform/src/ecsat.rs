//! Estimated satisfaction (eCSAT) of solved tickets nobody rated: a
//! logistic regression over signals every ticket has (customer sentiment,
//! first reply and resolution times, reopening, escalation, how much the
//! customer wrote), fitted on the same account's rated tickets. Its
//! accuracy is measured by k-fold cross-validation against always guessing
//! the majority score; when it is no better, or there are too few ratings,
//! nothing is estimated and the reason says why.

use linfa::prelude::*;
use linfa::Dataset;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, Array2};

/// Fewer rated tickets than this, and no model is fitted.
pub const MIN_RATINGS: usize = 50;
/// Folds of the cross-validation.
pub const FOLDS: usize = 5;

/// What the model sees of a solved ticket.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TicketFeatures {
    /// The last customer message's sentiment.
    pub last_sentiment: Option<f64>,
    /// The lowest customer message sentiment.
    pub min_sentiment: Option<f64>,
    /// First reply time (seconds).
    pub first_reply: Option<i64>,
    /// Resolution time (seconds).
    pub resolution: Option<i64>,
    /// Reopened after it was solved.
    pub reopened: bool,
    /// Priority raised to high or urgent.
    pub escalated: bool,
    /// Customer messages.
    pub customer_messages: usize,
}

/// The names of the model's inputs, in order.
pub const INPUTS: [&str; 7] = [
    "last customer sentiment",
    "lowest customer sentiment",
    "first reply time (log hours)",
    "resolution time (log hours)",
    "reopened",
    "escalated",
    "customer messages (log)",
];

fn log_hours(seconds: i64) -> f64 {
    (seconds.max(0) as f64 / 3600.0).ln_1p()
}

impl TicketFeatures {
    /// The inputs, `None` where unknown.
    fn inputs(&self) -> [Option<f64>; 7] {
        let flag = |b: bool| Some(if b { 1.0 } else { 0.0 });
        [
            self.last_sentiment,
            self.min_sentiment,
            self.first_reply.map(log_hours),
            self.resolution.map(log_hours),
            flag(self.reopened),
            flag(self.escalated),
            Some((self.customer_messages as f64).ln_1p()),
        ]
    }
}

/// Centres and scales each input on the tickets it was fitted on; unknown
/// values become the mean.
#[derive(Clone, Debug)]
struct Scaler {
    mean: [f64; 7],
    scale: [f64; 7],
}

impl Scaler {
    fn fit(rows: &[[Option<f64>; 7]]) -> Scaler {
        let mut mean = [0.0; 7];
        let mut scale = [1.0; 7];
        for i in 0..7 {
            let known: Vec<f64> = rows.iter().filter_map(|r| r[i]).collect();
            if known.is_empty() {
                continue;
            }
            let m = known.iter().sum::<f64>() / known.len() as f64;
            let var = known.iter().map(|v| (v - m).powi(2)).sum::<f64>() / known.len() as f64;
            mean[i] = m;
            scale[i] = if var > 1e-12 { var.sqrt() } else { 1.0 };
        }
        Scaler { mean, scale }
    }

    fn matrix(&self, rows: &[[Option<f64>; 7]]) -> Array2<f64> {
        Array2::from_shape_fn((rows.len(), 7), |(r, i)| {
            rows[r][i].map_or(0.0, |v| (v - self.mean[i]) / self.scale[i])
        })
    }
}

/// A fitted model with its measured accuracy.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// Rated tickets it was fitted and validated on.
    pub rated: usize,
    /// Share of held-out rated tickets whose score it predicted.
    pub accuracy: f64,
    /// Share always guessing the majority score gets on the same tickets.
    pub baseline: f64,
    /// The weight of each input (on standardized inputs: comparable), in
    /// the order of [`INPUTS`]; positive means more likely good.
    pub weights: Vec<(&'static str, f64)>,
    scaler: Scaler,
    model: FittedLogisticRegression<f64, bool>,
}

impl Fitted {
    /// The probability that a ticket would have been rated good.
    pub fn probability_good(&self, ticket: &TicketFeatures) -> f64 {
        let x = self.scaler.matrix(&[ticket.inputs()]);
        self.model.predict_probabilities(&x)[0]
    }
}

/// The model, or why there is none.
#[derive(Clone, Debug)]
pub enum Model {
    /// Fitted, and better than the baseline.
    Fitted(Box<Fitted>),
    /// Not estimated: why, in a sentence that says what would help.
    Refused(String),
}

fn train(
    rows: &[[Option<f64>; 7]],
    good: &[bool],
) -> Option<(Scaler, FittedLogisticRegression<f64, bool>)> {
    let scaler = Scaler::fit(rows);
    let dataset = Dataset::new(scaler.matrix(rows), Array1::from(good.to_vec()));
    let model = LogisticRegression::default()
        .max_iterations(200)
        .fit(&dataset)
        .ok()?;
    Some((scaler, model))
}

/// Fit on rated tickets (`true`: rated good), in a stable order (the folds
/// are every `FOLDS`-th ticket of it).
pub fn fit(rated: &[(TicketFeatures, bool)]) -> Model {
    let n = rated.len();
    if n < MIN_RATINGS {
        return Model::Refused(format!(
            "only {n} rated tickets; the estimate needs at least {MIN_RATINGS} to learn from"
        ));
    }
    let good_count = rated.iter().filter(|(_, g)| *g).count();
    if good_count == 0 || good_count == n {
        return Model::Refused(format!(
            "all {n} rated tickets are rated {}; there is nothing to tell apart",
            if good_count == n { "good" } else { "bad" }
        ));
    }
    let rows: Vec<[Option<f64>; 7]> = rated.iter().map(|(f, _)| f.inputs()).collect();
    let labels: Vec<bool> = rated.iter().map(|(_, g)| *g).collect();
    let (mut correct, mut majority_correct) = (0usize, 0usize);
    for fold in 0..FOLDS {
        let (mut train_rows, mut train_labels, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            if i % FOLDS == fold {
                test.push(i);
            } else {
                train_rows.push(rows[i]);
                train_labels.push(labels[i]);
            }
        }
        let majority = 2 * train_labels.iter().filter(|g| **g).count() >= train_labels.len();
        majority_correct += test.iter().filter(|i| labels[**i] == majority).count();
        let Some((scaler, model)) = train(&train_rows, &train_labels) else {
            // A fold with one score only: the model guesses it, like the baseline.
            correct += test.iter().filter(|i| labels[**i] == majority).count();
            continue;
        };
        let x = scaler.matrix(&test.iter().map(|i| rows[*i]).collect::<Vec<_>>());
        let p = model.predict_probabilities(&x);
        correct += test
            .iter()
            .zip(p.iter())
            .filter(|(i, p)| (**p >= 0.5) == labels[**i])
            .count();
    }
    let accuracy = correct as f64 / n as f64;
    let baseline = majority_correct as f64 / n as f64;
    if accuracy <= baseline {
        return Model::Refused(format!(
            "the model is right on {:.0}% of held-out rated tickets, no better than always \
             guessing the majority score ({:.0}%)",
            accuracy * 100.0,
            baseline * 100.0
        ));
    }
    let Some((scaler, model)) = train(&rows, &labels) else {
        return Model::Refused("the model could not be fitted on the rated tickets".into());
    };
    let weights = INPUTS
        .iter()
        .copied()
        .zip(model.params().iter().copied())
        .collect();
    Model::Fitted(Box::new(Fitted {
        rated: n,
        accuracy,
        baseline,
        weights,
        scaler,
        model,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tickets whose rating follows the last sentiment, but for every
    /// seventh (noise).
    fn tickets(n: usize) -> Vec<(TicketFeatures, bool)> {
        (0..n)
            .map(|i| {
                let sentiment = ((i * 37) % 100) as f64 / 50.0 - 1.0;
                let good = (sentiment > -0.3) != (i % 7 == 0);
                let features = TicketFeatures {
                    last_sentiment: Some(sentiment),
                    min_sentiment: Some(sentiment - 0.1),
                    first_reply: (i % 3 != 0).then_some(3600 * (i as i64 % 10)),
                    resolution: Some(86_400),
                    customer_messages: 1 + i % 4,
                    ..TicketFeatures::default()
                };
                (features, good)
            })
            .collect()
    }

    #[test]
    fn a_signal_that_predicts_beats_the_majority() {
        let Model::Fitted(model) = fit(&tickets(300)) else {
            panic!("refused");
        };
        assert!(model.accuracy > model.baseline, "{model:?}");
        assert!(model.accuracy > 0.8, "{}", model.accuracy);
        let p = |s: f64| {
            model.probability_good(&TicketFeatures {
                last_sentiment: Some(s),
                min_sentiment: Some(s),
                ..TicketFeatures::default()
            })
        };
        assert!(p(0.9) > 0.7 && p(-0.9) < 0.3, "{} {}", p(0.9), p(-0.9));
        assert!(model.weights[0].1 > 0.0, "{:?}", model.weights);
    }

    #[test]
    fn too_few_ratings_or_no_signal_are_refused() {
        let Model::Refused(why) = fit(&tickets(MIN_RATINGS - 1)) else {
            panic!("fitted on too few");
        };
        assert!(why.contains("only 49 rated tickets"), "{why}");
        // Ratings unrelated to every input: 80% good, alternating.
        let noise: Vec<_> = (0..200)
            .map(|i| (TicketFeatures::default(), i % 5 != 0))
            .collect();
        let Model::Refused(why) = fit(&noise) else {
            panic!("fitted on noise");
        };
        assert!(why.contains("no better than always guessing"), "{why}");
        let all_good: Vec<_> = (0..60).map(|_| (TicketFeatures::default(), true)).collect();
        assert!(matches!(fit(&all_good), Model::Refused(w) if w.contains("all 60")));
    }
}
