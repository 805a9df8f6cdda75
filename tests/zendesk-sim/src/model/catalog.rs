//! The small per-account catalogs: brands, groups, ticket fields, custom statuses.

use crate::rng::Draw;

/// Base of organization ids.
pub(crate) const ORG_BASE: u64 = 360_000_000_000;
/// Base of group ids.
pub(crate) const GROUP_BASE: u64 = 360_100_000_000;
/// Base of brand ids.
pub(crate) const BRAND_BASE: u64 = 360_200_000_000;
/// Base of ticket field ids.
pub(crate) const FIELD_BASE: u64 = 360_300_000_000;
/// Base of custom field option ids.
pub(crate) const OPTION_BASE: u64 = 360_400_000_000;
/// Base of satisfaction rating ids (plus the ticket id).
pub(crate) const RATING_BASE: u64 = 360_500_000_000;
/// Base of custom status ids (plus the status index).
pub(crate) const CUSTOM_STATUS_BASE: u64 = 360_600_000_000;
/// Base of ticket form ids (plus the brand index).
pub(crate) const FORM_BASE: u64 = 360_700_000_000;
/// Base of attachment ids (user photos).
pub(crate) const ATTACHMENT_BASE: u64 = 360_800_000_000;
/// Base of satisfaction reason ids (plus the reason code).
pub(crate) const REASON_BASE: u64 = 360_900_000_000;
/// Base of user ids.
pub(crate) const USER_BASE: u64 = 370_000_000_000;

/// A brand of the account.
#[derive(Clone, Debug)]
pub(crate) struct Brand {
    pub id: u64,
    pub name: String,
    pub subdomain: String,
    pub default: bool,
    pub created_at: i64,
}

/// An agent group.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub id: u64,
    pub name: &'static str,
    pub description: &'static str,
    pub default: bool,
    pub created_at: i64,
}

/// What a ticket field holds.
#[derive(Clone, Debug)]
pub(crate) enum FieldKind {
    /// A system field (`subject`, `status`, ...); the options of the ones that have some.
    System(&'static str, &'static [(&'static str, &'static str)]),
    /// A drop-down (`tagger`) or multi-select field with `(name, value)` options.
    Options(&'static str, Vec<(String, String)>),
    /// A checkbox that adds `tag` to the ticket when checked.
    Checkbox(&'static str),
    /// A free-form field of the given Zendesk type (`text`, `textarea`, `date`, `integer`,
    /// `decimal`, `regexp`).
    Plain(&'static str),
}

/// A ticket field definition.
#[derive(Clone, Debug)]
pub(crate) struct TicketField {
    pub id: u64,
    pub title: &'static str,
    pub description: &'static str,
    pub kind: FieldKind,
    pub position: u32,
    pub created_at: i64,
}

impl TicketField {
    /// Zendesk's `type` of the field.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            FieldKind::System(t, _) | FieldKind::Options(t, _) | FieldKind::Plain(t) => t,
            FieldKind::Checkbox(_) => "checkbox",
        }
    }

    /// Whether the field is a custom one (system fields are not removable).
    pub(crate) fn is_custom(&self) -> bool {
        !matches!(self.kind, FieldKind::System(..))
    }

    /// The regular expression Zendesk validates the field with, if any.
    pub(crate) fn regexp(&self) -> Option<&'static str> {
        match self.type_name() {
            "integer" => Some("\\A[-+]?\\d+\\z"),
            "decimal" => Some("\\A[-+]?[0-9]*[.,]?[0-9]+\\z"),
            "date" => Some("\\A([0-9]{4})-(1[0-2]|0[1-9])-(3[01]|[12][0-9]|0[1-9])\\z"),
            "regexp" => Some("^[0-9]+-[0-9]+-[0-9]+$"),
            _ => None,
        }
    }
}

const STATUS_OPTIONS: &[(&str, &str)] = &[
    ("Open", "open"),
    ("Pending", "pending"),
    ("On-hold", "hold"),
    ("Solved", "solved"),
];
const TYPE_OPTIONS: &[(&str, &str)] = &[
    ("Question", "question"),
    ("Incident", "incident"),
    ("Problem", "problem"),
    ("Task", "task"),
];
const PRIORITY_OPTIONS: &[(&str, &str)] = &[
    ("Low", "low"),
    ("Normal", "normal"),
    ("High", "high"),
    ("Urgent", "urgent"),
];

/// Group names and descriptions.
const GROUPS: &[(&str, &str)] = &[
    ("Support", "First-line support"),
    ("Billing", "Invoices, refunds and plans"),
    ("Escalations", "Hard cases from tier 1"),
    ("Sales", "Pre-sales questions"),
];

/// Builds the brands of `account`: two or three.
pub(crate) fn brands(seed: u64, account: &str, origin: i64, history: i64) -> Vec<Brand> {
    let mut d = Draw::new(seed, 0xB4A0, 0);
    let count = 2 + d.below(2) as usize;
    let names = ["Main", "Labs", "Outlet"];
    (0..count)
        .map(|i| Brand {
            id: BRAND_BASE + 1 + i as u64,
            name: if i == 0 {
                capitalise(account)
            } else {
                format!("{} {}", capitalise(account), names[i])
            },
            subdomain: if i == 0 {
                account.to_string()
            } else {
                format!("{account}-{}", names[i].to_ascii_lowercase())
            },
            default: i == 0,
            created_at: origin - history - 86_400 * (30 - i as i64),
        })
        .collect()
}

/// Builds the agent groups.
pub(crate) fn groups(origin: i64, history: i64) -> Vec<Group> {
    GROUPS
        .iter()
        .enumerate()
        .map(|(i, (name, description))| Group {
            id: GROUP_BASE + 1 + i as u64,
            name,
            description,
            default: i == 0,
            created_at: origin - history - 86_400 * 20 + i as i64 * 3_600,
        })
        .collect()
}

/// Builds the ticket fields: the system ones and one custom field of each common type.
pub(crate) fn ticket_fields(origin: i64, history: i64) -> Vec<TicketField> {
    let options = |prefix: &str, names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| {
                let value = format!("{prefix}_{}", n.to_ascii_lowercase().replace(' ', "_"));
                (n.to_string(), value)
            })
            .collect()
    };
    let kinds: Vec<(&'static str, &'static str, FieldKind)> = vec![
        ("Subject", "", FieldKind::System("subject", &[])),
        (
            "Description",
            "Please enter the details of your request.",
            FieldKind::System("description", &[]),
        ),
        (
            "Status",
            "Request status",
            FieldKind::System("status", STATUS_OPTIONS),
        ),
        (
            "Type",
            "Request type",
            FieldKind::System("tickettype", TYPE_OPTIONS),
        ),
        (
            "Priority",
            "Request priority",
            FieldKind::System("priority", PRIORITY_OPTIONS),
        ),
        ("Group", "Request group", FieldKind::System("group", &[])),
        (
            "Assignee",
            "Agent assigned to your request",
            FieldKind::System("assignee", &[]),
        ),
        (
            "Product",
            "Which product is this about?",
            FieldKind::Options(
                "tagger",
                options(
                    "product",
                    &["Web App", "Mobile App", "API", "Billing Portal"],
                ),
            ),
        ),
        (
            "Affected regions",
            "Regions where the problem shows",
            FieldKind::Options("multiselect", options("region", &["EMEA", "AMER", "APAC"])),
        ),
        ("Order number", "", FieldKind::Plain("text")),
        ("Steps to reproduce", "", FieldKind::Plain("textarea")),
        ("VIP customer", "", FieldKind::Checkbox("vip_customer")),
        ("Follow-up date", "", FieldKind::Plain("date")),
        ("Seats affected", "", FieldKind::Plain("integer")),
        ("Refund amount", "", FieldKind::Plain("decimal")),
        (
            "Serial number",
            "Format 123-456-789",
            FieldKind::Plain("regexp"),
        ),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (title, description, kind))| TicketField {
            id: FIELD_BASE + 1 + i as u64,
            title,
            description,
            kind,
            position: i as u32,
            created_at: origin - history - 86_400 * 10 + i as i64 * 60,
        })
        .collect()
}

/// The id of a custom field option: fields and options are numbered together.
pub(crate) fn option_id(field_id: u64, index: usize) -> u64 {
    OPTION_BASE + (field_id - FIELD_BASE) * 100 + index as u64
}

/// `acme` → `Acme`.
fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The default satisfaction reasons: `(code, text)`.
pub(crate) const SATISFACTION_REASONS: &[(u32, &str)] = &[
    (0, "No reason provided"),
    (5, "The issue took too long to resolve"),
    (6, "The issue was not resolved"),
    (7, "The agent's knowledge is unsatisfactory"),
    (8, "The agent's attitude is unsatisfactory"),
    (100, "Some other reason"),
];

/// Time zones users live in: `(Zendesk name, IANA name)`.
pub(crate) const TIME_ZONES: &[(&str, &str)] = &[
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
];

/// Locales users write in: `(locale, locale_id)`.
pub(crate) const LOCALES: &[(&str, u32)] = &[("en-US", 1), ("en-GB", 5), ("de", 8), ("fr", 16)];
