//! A customer's own words in a message: what they wrote above the quoted
//! message they answer, without their signature. Zendesk removes most quoted
//! text of email replies itself, but not all mail clients' (and not what a
//! customer pastes), and an agent's cheerful "happy to help!" quoted under a
//! customer's complaint must not count as the customer's.

/// Lines from which on everything is quoted: the reply header mail clients
/// write, Zendesk's reply delimiter, forwarded-message separators.
fn starts_quote(line: &str) -> bool {
    let line = line.trim();
    let header = (line.starts_with("On ") && line.ends_with("wrote:"))
        || (line.starts_with("Am ") && line.ends_with("schrieb:"))
        || (line.starts_with("Le ") && line.ends_with("a écrit :"));
    header
        || line.starts_with("##- Please type your reply above this line -##")
        || line.starts_with("-----Original Message-----")
        || line.starts_with("---------- Forwarded message")
        || (line.len() >= 10 && line.chars().all(|c| c == '_'))
}

/// Lines from which on everything is a signature: the `-- ` convention and
/// mobile clients' footers.
fn starts_signature(line: &str) -> bool {
    let line = line.trim_end();
    line == "--" || line == "-- " || line.starts_with("Sent from my ")
}

/// Sign-offs that open a signature when only a few short lines follow
/// (a name, a title, a company).
const SIGN_OFFS: &[&str] = &[
    "best",
    "best regards",
    "kind regards",
    "regards",
    "thanks",
    "thank you",
    "many thanks",
    "cheers",
    "sincerely",
    "all the best",
];

fn is_sign_off(line: &str) -> bool {
    let words = line
        .trim()
        .trim_end_matches([',', '.', '!'])
        .to_ascii_lowercase();
    SIGN_OFFS.contains(&words.as_str())
}

/// The customer's own words of `body`: cut at a quoted message, quoted
/// lines (`>`) removed, cut at a signature (a sign-off line followed by at
/// most four short lines counts as one).
pub fn own_words(body: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in body.lines() {
        if starts_quote(line) || starts_signature(line) {
            break;
        }
        if !line.trim_start().starts_with('>') {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if let Some(at) = lines.iter().rposition(|l| is_sign_off(l)) {
        let rest = &lines[at + 1..];
        if at > 0 && rest.len() <= 4 && rest.iter().all(|l| l.trim().len() <= 40) {
            lines.truncate(at);
        }
    }
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::own_words;

    #[test]
    fn quotes_and_signatures_are_cut() {
        let cases = [
            ("plain text", "plain text"),
            (
                "It fails.\n\nOn Mon, 3 Jun 2024 at 10:00, Support <s@x.com> wrote:\n> Fixed!",
                "It fails.",
            ),
            ("It fails.\n> Fixed!\nStill.", "It fails.\nStill."),
            (
                "Broken.\n##- Please type your reply above this line -##\nAgent text",
                "Broken.",
            ),
            (
                "Broken.\n\n-----Original Message-----\nFrom: Support",
                "Broken.",
            ),
            ("Broken.\n-- \nJane Doe\nAcme Inc.", "Broken."),
            ("Broken.\n\nSent from my iPhone", "Broken."),
            ("Broken.\n\nBest regards,\nJane Doe\nCTO, Acme", "Broken."),
            (
                "Thanks, that helped!",
                "Thanks, that helped!",
            ),
            ("Thanks!", "Thanks!"),
            (
                "Broken.\nThanks\nand here a long paragraph that is clearly not part of any signature block at all.",
                "Broken.\nThanks\nand here a long paragraph that is clearly not part of any signature block at all.",
            ),
            ("> all quoted", ""),
        ];
        for (body, own) in cases {
            assert_eq!(own_words(body), own, "{body:?}");
        }
    }
}
