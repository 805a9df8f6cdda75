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
const CUSTOMER_LINES: &[&str] = &[
    "Since this morning the {t} does not work for our team.",
    "We followed the guide, but the {t} still shows an error.",
    "Could you tell me how the {t} is supposed to behave?",
    "Thanks, that helped a bit, but the {t} fails again after a refresh.",
    "Our manager asked when the {t} will be fixed.",
    "I attached nothing, but the {t} screen is blank — “Error 0x1F” in red.",
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
    Customer,
    Agent,
    Note,
}

/// A comment body of one to three lines in `voice` about `topic`.
pub(crate) fn body(d: &mut Draw, voice: Voice, topic: &str) -> String {
    let lines = match voice {
        Voice::Customer => CUSTOMER_LINES,
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

/// The lines of a chat conversation: `(customer?, message)`.
pub(crate) fn chat_lines(d: &mut Draw, topic: &str) -> Vec<(bool, String)> {
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
    lines.push((true, "Thanks, bye!".to_string()));
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
