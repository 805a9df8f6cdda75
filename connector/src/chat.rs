//! Chat transcripts: when a Zendesk Chat session ends, its transcript is
//! added to the ticket as one comment whose lines look like
//! `(10:02:13 AM) Jane Customer: Hello`. No public spec of the format
//! exists, so parsing is defensive: a line that does not parse is kept with
//! its original text.

/// What a transcript line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `(time) Speaker: text`.
    Message,
    /// A system line such as `*** Jane joined the chat ***`.
    Event,
    /// Anything else (headers, continuation lines); kept verbatim.
    Unparsed,
}

/// One non-empty line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine<'a> {
    /// What the line is.
    pub kind: LineKind,
    /// The clock time of the line as `HH:MM:SS` (24 h, the transcript's
    /// own time zone), when it has one.
    pub time: Option<String>,
    /// Who spoke; for events, who joined or left.
    pub speaker: Option<&'a str>,
    /// The message, the event text, or the whole original line.
    pub text: &'a str,
}

/// Whether a `via.channel` value denotes a chat or messaging session.
pub fn is_chat_channel(channel: &str) -> bool {
    matches!(
        channel,
        "chat" | "chat_transcript" | "native_messaging" | "messaging"
    )
}

/// `H:MM[:SS][ AM|PM]` as `HH:MM:SS`.
fn parse_clock(text: &str) -> Option<String> {
    let text = text.trim();
    let (clock, meridiem) = match text.len().checked_sub(2).map(|i| text.split_at(i)) {
        Some((clock, m)) if m.eq_ignore_ascii_case("am") || m.eq_ignore_ascii_case("pm") => {
            (clock.trim_end(), Some(m.eq_ignore_ascii_case("pm")))
        }
        _ => (text, None),
    };
    let mut parts = clock.split(':');
    let mut field = |max: u32| -> Option<u32> {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok().filter(|n| *n <= max)
    };
    let hour = field(23)?;
    let minute = field(59)?;
    let second = match parts.next() {
        None => 0,
        Some(s) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok().filter(|n| *n <= 60)?
        }
        Some(_) => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    let hour = match meridiem {
        None => hour,
        Some(_) if hour == 0 || hour > 12 => return None,
        Some(pm) => hour % 12 + if pm { 12 } else { 0 },
    };
    Some(format!("{hour:02}:{minute:02}:{second:02}"))
}

/// The person an event line is about: `Jane joined the chat` gives `Jane`.
fn event_subject(text: &str) -> Option<&str> {
    const VERBS: [&str; 5] = [
        " joined the chat",
        " left the chat",
        " has joined",
        " has left",
        " transferred",
    ];
    VERBS
        .iter()
        .find_map(|verb| text.find(verb).map(|i| text[..i].trim()))
        .filter(|s| !s.is_empty())
}

/// Parses a line after its time stamp (or a whole line without one).
fn parse_rest<'a>(rest: &'a str, time: Option<String>, line: &'a str) -> ChatLine<'a> {
    let rest = rest.trim();
    if let Some(inner) = rest.strip_prefix("***") {
        let text = inner.trim_end_matches('*').trim();
        return ChatLine {
            kind: LineKind::Event,
            time,
            speaker: event_subject(text),
            text,
        };
    }
    let speaker_end = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(str::len))
        .filter(|&i| time.is_some() && i > 0 && i <= 80);
    match speaker_end {
        Some(i) => ChatLine {
            kind: LineKind::Message,
            time,
            speaker: Some(rest[..i].trim()),
            text: rest.get(i + 2..).unwrap_or("").trim(),
        },
        None => ChatLine {
            kind: LineKind::Unparsed,
            time: None,
            speaker: None,
            text: line,
        },
    }
}

/// Parses one line; never fails.
fn parse_line(line: &str) -> ChatLine<'_> {
    let trimmed = line.trim();
    let stamped = [('(', ')'), ('[', ']')]
        .into_iter()
        .find_map(|(open, close)| {
            let inner = trimmed.strip_prefix(open)?;
            let end = inner.find(close)?;
            Some((parse_clock(&inner[..end])?, &inner[end + 1..]))
        });
    match stamped {
        Some((time, rest)) => parse_rest(rest, Some(time), trimmed),
        None if trimmed.starts_with("***") => parse_rest(trimmed, None, trimmed),
        None => ChatLine {
            kind: LineKind::Unparsed,
            time: None,
            speaker: None,
            text: trimmed,
        },
    }
}

/// The transcript's non-empty lines, in order.
pub fn parse_transcript(body: &str) -> Vec<ChatLine<'_>> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

/// Whether a body looks like a transcript: at least one timestamped
/// `Speaker: text` line.
pub fn looks_like_transcript(lines: &[ChatLine<'_>]) -> bool {
    lines.iter().any(|l| l.kind == LineKind::Message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_clock_formats() {
        assert_eq!(parse_clock("10:02:13 AM").as_deref(), Some("10:02:13"));
        assert_eq!(parse_clock("12:00:01 AM").as_deref(), Some("00:00:01"));
        assert_eq!(parse_clock("12:30 PM").as_deref(), Some("12:30:00"));
        assert_eq!(parse_clock("1:05:09pm").as_deref(), Some("13:05:09"));
        assert_eq!(parse_clock("22:02:13").as_deref(), Some("22:02:13"));
        for bad in ["13:00 PM", "10:60", "ten", "10:02:13:14", "", "1:2:3"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_a_transcript_and_keeps_what_does_not_parse() {
        let body = "Chat started: 2019-05-14 10:02 AM UTC\n\n\
            (10:02:13 AM) Jane Customer: Hello: my order is late\n\
            (10:02:20 AM) *** John Agent joined the chat ***\n\
            (10:02:25 AM) John Agent: Hi Jane, how can I help?\n\
            it is order 42\n\
            [22:03:01] Jane Customer:\n\
            (25:00:00) Nobody: bad clock\n";
        let lines = parse_transcript(body);
        assert_eq!(lines.len(), 7);
        assert_eq!(
            lines[0],
            ChatLine {
                kind: LineKind::Unparsed,
                time: None,
                speaker: None,
                text: "Chat started: 2019-05-14 10:02 AM UTC"
            }
        );
        assert_eq!(
            lines[1],
            ChatLine {
                kind: LineKind::Message,
                time: Some("10:02:13".into()),
                speaker: Some("Jane Customer"),
                text: "Hello: my order is late"
            }
        );
        assert_eq!(lines[2].kind, LineKind::Event);
        assert_eq!(lines[2].speaker, Some("John Agent"));
        assert_eq!(lines[2].text, "John Agent joined the chat");
        assert_eq!(lines[3].speaker, Some("John Agent"));
        assert_eq!(lines[4].kind, LineKind::Unparsed);
        assert_eq!(lines[4].text, "it is order 42");
        assert_eq!(
            lines[5],
            ChatLine {
                kind: LineKind::Message,
                time: Some("22:03:01".into()),
                speaker: Some("Jane Customer"),
                text: ""
            }
        );
        assert_eq!(lines[6].kind, LineKind::Unparsed);
        assert_eq!(lines[6].text, "(25:00:00) Nobody: bad clock");
        assert!(looks_like_transcript(&lines));
    }

    #[test]
    fn ordinary_text_is_not_a_transcript() {
        let lines = parse_transcript("Hello,\nmy printer: broken (again)\nThanks");
        assert!(lines.iter().all(|l| l.kind == LineKind::Unparsed));
        assert!(!looks_like_transcript(&lines));
        assert!(is_chat_channel("chat") && !is_chat_channel("email"));
    }
}
