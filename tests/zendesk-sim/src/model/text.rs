//! Word lists and the deterministic text built from them: names, subjects, comment bodies.

use crate::rng::Draw;

const FIRST: &[&str] = &[
    "Jane", "Omar", "Mei", "Lucas", "Amara", "Sven", "Priya", "Diego", "Hana", "Tomasz", "Chloé",
    "Kwame", "Ingrid", "Rafael", "Yuki", "Noor", "Elena", "Malik", "Sofia", "Arjun", "Zoë",
    "Felix", "Leila", "Björn",
];
const LAST: &[&str] = &[
    "Customer",
    "Okafor",
    "Lindqvist",
    "Nakamura",
    "Silva",
    "Kowalski",
    "Haddad",
    "Moreau",
    "Patel",
    "Müller",
    "García",
    "O'Brien",
    "Nguyen",
    "Rossi",
    "Andersen",
    "Dubois",
    "Kim",
    "Fischer",
    "Mensah",
    "Ivanova",
];
const ORG_A: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Quantum",
    "Evergreen",
    "Silverline",
    "Redwood",
    "Polar",
    "Summit",
    "Cobalt",
    "Lumen",
    "Atlas",
    "Harbor Point",
];
const ORG_B: &[&str] = &[
    "Logistics",
    "Bakery",
    "Analytics",
    "Dental",
    "Outfitters",
    "Robotics",
    "Travel",
    "Media",
    "Foods",
    "Energy",
];
const TOPICS: &[&str] = &[
    "invoice export",
    "mobile app",
    "password reset",
    "billing portal",
    "API access",
    "CSV import",
    "SSO login",
    "shipping label",
    "refund",
    "dashboard",
    "email notifications",
    "two-factor setup",
];
const OPENERS: &[&str] = &[
    "Problem with",
    "Question about",
    "Cannot use",
    "Error in",
    "Need help with",
    "Feedback on",
    "Urgent: issue with",
];
/// What customers write, by tone: VADER-style polarity is what the
/// platform's sentiment reads, so the pools differ in it clearly.
const PLEASED_LINES: &[&str] = &[
    "Thanks so much, the {t} works perfectly now!",
    "Great, that solved it. I really appreciate the quick help with the {t}.",
    "The {t} is working again, you are awesome!",
    "Perfect, thank you! The {t} looks good now.",
];
const NEUTRAL_LINES: &[&str] = &[
    "Could you tell me how the {t} is supposed to behave?",
    "Our manager asked when the {t} will be updated.",
    "We use the {t} every day in our team.",
    "Here are the details about the {t} you asked for.",
];
const UPSET_LINES: &[&str] = &[
    "Since this morning the {t} does not work for our team, this is really frustrating.",
    "We followed the guide, but the {t} still shows an error.",
    "This is unacceptable, the {t} fails again after a refresh.",
    "I am not happy: the {t} screen is blank — “Error 0x1F” in red.",
    "Still broken. The {t} has been useless for days.",
];
const GERMAN_LINES: &[&str] = &[
    "Seit heute Morgen funktioniert die Funktion {t} bei uns nicht mehr, bitte helfen Sie uns.",
    "Vielen Dank für die schnelle Antwort, jetzt klappt alles wieder mit der Funktion {t}.",
    "Wir haben die Anleitung befolgt, aber es erscheint immer noch eine Fehlermeldung.",
];
const FRENCH_LINES: &[&str] = &[
    "Depuis ce matin, la fonction {t} ne marche plus pour notre équipe, pouvez-vous nous aider ?",
    "Merci beaucoup pour votre réponse rapide, tout fonctionne de nouveau avec {t}.",
    "Nous avons suivi le guide, mais nous voyons toujours un message d'erreur.",
];
const AGENT_LINES: &[&str] = &[
    "Thanks for reaching out! I looked into the {t} and can reproduce it.",
    "Could you send us the exact time you last used the {t}?",
    "We deployed a fix for the {t}; please try again and let us know.",
    "I've escalated the {t} problem to our engineers.",
    "Happy to help. The {t} settings live under Admin > Settings.",
];
const NOTE_LINES: &[&str] = &[
    "Internal: customer is on the enterprise plan, prioritise the {t} fix.",
    "Internal: linked to the known {t} bug, see the problem ticket.",
    "Internal: asked engineering about the {t} logs.",
];

/// The topic of a ticket: drives its subject and the wording of its comments.
pub(crate) fn topic(d: &mut Draw) -> &'static str {
    d.pick::<&str>(TOPICS)
}

/// A person's display name.
pub(crate) fn person(d: &mut Draw) -> String {
    format!("{} {}", d.pick(FIRST), d.pick(LAST))
}

/// An organization name and the domain its users mail from.
pub(crate) fn organization(d: &mut Draw, index: usize) -> (String, String) {
    let name = format!("{} {}", d.pick(ORG_A), d.pick(ORG_B));
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    (
        format!("{name} {}", index + 1),
        format!("{slug}{}.example", index + 1),
    )
}

/// A ticket subject about `topic`.
pub(crate) fn subject(d: &mut Draw, topic: &str) -> String {
    format!("{} the {topic}", d.pick(OPENERS))
}

/// Who writes a comment, which decides its wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Voice {
    Customer(Tone),
    Agent,
    Note,
}

/// How a customer's comment reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Pleased,
    Neutral,
    Upset,
    /// In German (the customer's locale), whatever the mood.
    German,
    /// In French.
    French,
}

/// Below this mood a customer is upset: their comments read so, and a
/// rating they give is bad.
pub(crate) const UPSET_BELOW: f64 = -0.05;

/// A comment body of one to three lines in `voice` about `topic`.
pub(crate) fn body(d: &mut Draw, voice: Voice, topic: &str) -> String {
    let lines = match voice {
        Voice::Customer(Tone::Pleased) => PLEASED_LINES,
        Voice::Customer(Tone::Neutral) => NEUTRAL_LINES,
        Voice::Customer(Tone::Upset) => UPSET_LINES,
        Voice::Customer(Tone::German) => GERMAN_LINES,
        Voice::Customer(Tone::French) => FRENCH_LINES,
        Voice::Agent => AGENT_LINES,
        Voice::Note => NOTE_LINES,
    };
    let n = 1 + d.below(3);
    (0..n)
        .map(|_| d.pick(lines).replace("{t}", topic))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Zendesk's HTML rendering of a plain comment body.
pub(crate) fn html(body: &str) -> String {
    let escaped = body
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let paragraphs: Vec<String> = escaped
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
        .collect();
    format!(
        "<div class=\"zd-comment\" dir=\"auto\">{}</div>",
        paragraphs.join("")
    )
}

/// An agent's line, quoted under an email reply the way mail clients
/// quote (Zendesk keeps what the customer's client sent).
pub(crate) fn quoted_agent_line(d: &mut Draw, topic: &str, date: &str) -> String {
    format!(
        "On {date}, Support <support@example.zendesk.com> wrote:\n> {}",
        d.pick(AGENT_LINES).replace("{t}", topic)
    )
}

/// The lines of a chat conversation: `(customer?, message)`; the customer's
/// goodbye follows `mood` (see `Account::mood`).
pub(crate) fn chat_lines(d: &mut Draw, topic: &str, mood: f64) -> Vec<(bool, String)> {
    let mut lines = vec![
        (true, "Hello".to_string()),
        (false, "Hi! How can I help you today?".to_string()),
        (true, format!("The {topic} keeps failing for me.")),
    ];
    if d.chance(0.5) {
        lines.push((
            false,
            format!("Sorry about that. Which browser do you use for the {topic}?"),
        ));
        lines.push((true, "Firefox, latest version.".to_string()));
    }
    lines.push((
        false,
        "I've logged it and we'll follow up by email.".to_string(),
    ));
    let goodbye = if mood > UPSET_BELOW + 0.4 {
        "Thanks, that fixed it, great help!"
    } else if mood < UPSET_BELOW {
        "This did not help at all. Bye."
    } else {
        "Thanks, bye!"
    };
    lines.push((true, goodbye.to_string()));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_wraps_paragraphs() {
        assert_eq!(
            html("a < b\n\nc"),
            "<div class=\"zd-comment\" dir=\"auto\"><p>a &lt; b</p><p>c</p></div>"
        );
    }

    #[test]
    fn organization_domains_are_unique_per_index() {
        let mut d = Draw::new(1, 1, 1);
        let (_, a) = organization(&mut d, 0);
        let mut d = Draw::new(1, 1, 1);
        let (_, b) = organization(&mut d, 1);
        assert_ne!(a, b);
        assert!(a.ends_with(".example"));
    }
}
