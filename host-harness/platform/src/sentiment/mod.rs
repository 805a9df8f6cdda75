//! Sentiment of what customers write: each public message by a customer
//! (comments and chat lines; not agents, not internal notes) is cut to the
//! customer's own words ([`own_words`]: no quoted reply, no signature),
//! checked to be English (VADER's lexicon is English; `whatlang` tells), and
//! scored with VADER's compound score, from -1 (negative) to 1 (positive).
//! Scores are kept per connection ([`stored`]) and recomputed only for new
//! or changed messages.

mod own_words;
pub mod stored;

pub use own_words::own_words;

use vader_sentiment::SentimentIntensityAnalyzer;

/// A compound score at or below this is negative (VADER's convention).
pub const NEGATIVE_AT_MOST: f64 = -0.05;

/// What scoring made of one message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sentiment {
    /// VADER's compound score, -1 to 1.
    Scored(f64),
    /// Written in another language: no score rather than a wrong one.
    NotEnglish,
    /// Nothing of the customer's own to score (empty, or only quoted text).
    NoText,
}

impl Sentiment {
    /// The outcome's stored and exported name: `scored`, `not_english` or
    /// `no_text`.
    pub fn outcome_name(self) -> &'static str {
        match self {
            Sentiment::Scored(_) => "scored",
            Sentiment::NotEnglish => "not_english",
            Sentiment::NoText => "no_text",
        }
    }

    /// The outcome named `name` with its score (only `scored` has one);
    /// `None` for a pair [`Sentiment::outcome_name`] never gives.
    pub fn from_outcome(name: &str, score: Option<f64>) -> Option<Sentiment> {
        match (name, score) {
            ("scored", Some(score)) => Some(Sentiment::Scored(score)),
            ("not_english", None) => Some(Sentiment::NotEnglish),
            ("no_text", None) => Some(Sentiment::NoText),
            _ => None,
        }
    }

    /// The score, if the message has one.
    pub fn score(self) -> Option<f64> {
        match self {
            Sentiment::Scored(score) => Some(score),
            _ => None,
        }
    }
}

/// Scores messages; building the lexicons takes a moment, so one scorer
/// serves a whole run.
pub struct Scorer {
    analyzer: SentimentIntensityAnalyzer<'static>,
}

impl Default for Scorer {
    fn default() -> Self {
        Scorer {
            analyzer: SentimentIntensityAnalyzer::new(),
        }
    }
}

impl Scorer {
    /// The sentiment of a customer's message body.
    pub fn score(&self, body: &str) -> Sentiment {
        let text = own_words(body);
        if text.trim().is_empty() {
            return Sentiment::NoText;
        }
        if !is_english(&text) {
            return Sentiment::NotEnglish;
        }
        let scores = self.analyzer.polarity_scores(&text);
        Sentiment::Scored(scores.get("compound").copied().unwrap_or(0.0))
    }
}

/// Whether a text may be scored as English: a language check that is sure
/// of another language says no; short or symbol-only texts (an emoji, "ok")
/// that it cannot tell are taken as English.
fn is_english(text: &str) -> bool {
    match whatlang::detect(text) {
        Some(info) => info.lang() == whatlang::Lang::Eng || !info.is_reliable(),
        None => true,
    }
}

/// A stable fingerprint of what a message's score depends on: its body and
/// the scoring's own version (raise [`SCORING_VERSION`] when the scoring
/// changes, and every message is scored again). FNV-1a, 63 bits so that it
/// fits a signed database integer.
pub fn fingerprint(body: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in SCORING_VERSION.to_le_bytes().iter().chain(body.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 1) as i64
}

/// The version of the scoring: text clean-up, language check, lexicon.
pub const SCORING_VERSION: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    fn score(body: &str) -> Sentiment {
        Scorer::default().score(body)
    }

    fn compound(body: &str) -> f64 {
        score(body)
            .score()
            .unwrap_or_else(|| panic!("{body:?} has no score"))
    }

    #[test]
    fn outcomes_keep_their_names_and_only_scores_carry_a_score() {
        for sentiment in [
            Sentiment::Scored(-0.25),
            Sentiment::NotEnglish,
            Sentiment::NoText,
        ] {
            let back = Sentiment::from_outcome(sentiment.outcome_name(), sentiment.score());
            assert_eq!(back, Some(sentiment));
        }
        assert_eq!(Sentiment::from_outcome("scored", None), None);
        assert_eq!(Sentiment::from_outcome("no_text", Some(0.1)), None);
        assert_eq!(Sentiment::from_outcome("happy", None), None);
    }

    #[test]
    fn known_polarity() {
        assert!(compound("Thanks so much, this works perfectly now!") > 0.5);
        assert!(compound("This is unacceptable, it is broken again.") < -0.3);
        assert!(
            compound("I am happy with the fix.") > 0.3,
            "the plain sentence"
        );
        assert!(
            compound("I am not happy with the fix.") < 0.0,
            "negation flips it"
        );
        assert!(
            compound("The export is GREAT!!!") > compound("The export is great."),
            "capitals and exclamation marks intensify"
        );
    }

    #[test]
    fn a_quoted_agent_reply_does_not_count_as_the_customers() {
        let body = "Still broken, this is terrible.\n\n\
                    On Mon, 3 Jun 2024 at 10:00, Support <support@acme.zendesk.com> wrote:\n\
                    > Great news! We fixed it, thanks for your patience, happy to help!";
        assert!(compound(body) < -0.4, "{}", compound(body));
        assert_eq!(compound(body), compound("Still broken, this is terrible."));
    }

    #[test]
    fn emoji_only_replies_are_scored() {
        assert!(compound("😠😞") < -0.3, "{}", compound("😠😞"));
        assert!(compound("👍🙂") > 0.2, "{}", compound("👍🙂"));
    }

    #[test]
    fn other_languages_get_no_score() {
        for body in [
            "Seit heute Morgen funktioniert der Export bei uns nicht mehr, bitte helfen Sie uns.",
            "Depuis ce matin, l'export ne marche plus pour notre équipe, pouvez-vous nous aider ?",
            "Desde esta mañana la exportación no funciona para nuestro equipo, ¿pueden ayudarnos?",
        ] {
            assert_eq!(score(body), Sentiment::NotEnglish, "{body}");
        }
        assert_eq!(score("> only a quote\n> of the agent"), Sentiment::NoText);
        assert!(score("ok").score().is_some(), "too short to tell: English");
    }

    #[test]
    fn any_text_gets_an_outcome_within_range() {
        // Words VADER reads (negations, boosters, idioms, capitals), emoji,
        // punctuation, quotes and other scripts, in pseudo-random order.
        const PIECES: &[&str] = &[
            "not",
            "never",
            "so",
            "this",
            "without",
            "doubt",
            "at",
            "least",
            "very",
            "kind",
            "of",
            "GREAT",
            "bad",
            "but",
            "!!!",
            "???",
            ":)",
            ":(",
            "😠",
            "👍",
            "\n> quoted",
            "\n-- \n",
            "On Mon wrote:",
            "the",
            "ünïcödé",
            "日本語",
            "",
            " ",
            "\u{0}",
            "cannot",
            "sux",
            "the bomb",
            "yeah right",
        ];
        let scorer = Scorer::default();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
                text.push(' ');
            }
            state = state.wrapping_add(1);
            if let Sentiment::Scored(score) = scorer.score(&text) {
                assert!((-1.0..=1.0).contains(&score), "{text:?}: {score}");
            }
        }
    }

    #[test]
    fn fingerprints_follow_the_text() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert!(fingerprint("anything") >= 0);
    }
}
