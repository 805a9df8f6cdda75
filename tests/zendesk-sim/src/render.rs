//! JSON renderings of the dataset, field for field as Zendesk's API returns them.

use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{
    Account, Audit, Brand, Channel, Comment, Event, FieldKind, Group, Organization, Score, Status,
    TicketFacts, TicketField, TicketState, User, ATTACHMENT_BASE, CUSTOM_STATUS_BASE, FORM_BASE,
    LOCALES, RATING_BASE, REASON_BASE, TIME_ZONES,
};
use crate::timefmt::iso;

/// Renders objects of one account as seen from one request.
pub(crate) struct Renderer<'a> {
    /// The account.
    pub acct: &'a Account,
    /// `scheme://host` the request came to: object URLs point back at it.
    pub base: &'a str,
    /// Simulated time of the request.
    pub now: i64,
}

#[derive(Serialize)]
struct CustomFieldJson<'a> {
    id: u64,
    value: &'a Value,
}

/// A ticket, serialised straight from borrowed data (the export's hot path).
#[derive(Serialize)]
pub(crate) struct TicketJson<'a> {
    url: String,
    id: u64,
    external_id: Option<&'a str>,
    via: Value,
    created_at: String,
    updated_at: String,
    generated_timestamp: i64,
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    subject: &'a str,
    raw_subject: &'a str,
    description: &'a str,
    priority: Option<&'static str>,
    status: &'static str,
    custom_status_id: u64,
    recipient: Option<String>,
    requester_id: u64,
    submitter_id: u64,
    assignee_id: Option<u64>,
    organization_id: Option<u64>,
    group_id: Option<u64>,
    collaborator_ids: Vec<u64>,
    follower_ids: Vec<u64>,
    email_cc_ids: Vec<u64>,
    forum_topic_id: Option<u64>,
    problem_id: Option<u64>,
    has_incidents: bool,
    is_public: bool,
    due_at: Option<String>,
    tags: &'a [String],
    custom_fields: Vec<CustomFieldJson<'a>>,
    satisfaction_rating: Value,
    sharing_agreement_ids: Vec<u64>,
    fields: Vec<CustomFieldJson<'a>>,
    followup_ids: Vec<u64>,
    ticket_form_id: u64,
    brand_id: u64,
    satisfaction_probability: Option<f64>,
    allow_channelback: bool,
    allow_attachments: bool,
    from_messaging_channel: bool,
}

/// What a ticket rendering borrows from: its state, facts and description.
pub(crate) struct TicketParts {
    pub id: u64,
    pub state: TicketState,
    pub facts: TicketFacts,
    pub description: String,
    pub scrubbed: bool,
}

impl Renderer<'_> {
    /// Gathers what rendering ticket `id` needs.
    pub(crate) fn ticket_parts(&self, id: u64) -> Option<TicketParts> {
        let state = *self.acct.ticket(id)?;
        let facts = self.acct.facts(id, state.base_status);
        let scrubbed = self.acct.is_scrubbed(&state, self.now);
        let description = match self.acct.audit(id, 0, &facts).and_then(|a| a.comment) {
            _ if scrubbed => "SCRUBBED".to_string(),
            Some(c) => c.body,
            None => String::new(),
        };
        Some(TicketParts {
            id,
            state,
            facts,
            description,
            scrubbed,
        })
    }

    /// The ticket object.
    pub(crate) fn ticket<'p>(&self, p: &'p TicketParts) -> TicketJson<'p> {
        let a = self.acct;
        let (s, f) = (&p.state, &p.facts);
        let requester = &a.users[f.requester];
        let brand = &a.brands[f.brand];
        let recipient = (f.channel == Channel::Email)
            .then(|| format!("support@{}.zendesk.com", brand.subdomain));
        let via = match f.channel {
            Channel::Email => json!({
                "channel": "email",
                "source": {
                    "from": {"address": requester.email, "name": requester.name},
                    "to": {"name": brand.name, "address": recipient},
                    "rel": null
                }
            }),
            other => via_json(other),
        };
        let custom = || {
            f.custom
                .iter()
                .map(|(id, value)| CustomFieldJson { id: *id, value })
                .collect::<Vec<_>>()
        };
        let collaborators: Vec<u64> = f.collaborators.iter().map(|&c| a.users[c].id).collect();
        let subject = if p.scrubbed {
            "SCRUBBED"
        } else {
            f.subject.as_str()
        };
        TicketJson {
            url: format!("{}/api/v2/tickets/{}.json", self.base, p.id),
            id: p.id,
            external_id: f.external_id.as_deref(),
            via,
            created_at: iso(s.created_at),
            updated_at: iso(s.updated_at),
            generated_timestamp: s.generated_ts,
            kind: f.kind,
            subject,
            raw_subject: subject,
            description: &p.description,
            priority: f.priority,
            status: s.status.as_str(),
            custom_status_id: custom_status_id(s.status),
            recipient,
            requester_id: requester.id,
            submitter_id: a.users[f.submitter].id,
            assignee_id: f.assignee.map(|i| a.users[i].id),
            organization_id: requester.org_id,
            group_id: Some(a.groups[f.group].id),
            email_cc_ids: collaborators.clone(),
            collaborator_ids: collaborators,
            follower_ids: Vec::new(),
            forum_topic_id: None,
            problem_id: None,
            has_incidents: false,
            is_public: true,
            due_at: f.due_in.map(|d| iso(s.created_at + d)),
            tags: &f.tags,
            custom_fields: custom(),
            satisfaction_rating: match &f.rating {
                None => json!({"score": "unoffered"}),
                Some(r) if r.score == Score::Offered => json!({"score": "offered"}),
                Some(r) => {
                    json!({"id": RATING_BASE + p.id, "score": r.score.as_str(), "comment": r.comment})
                }
            },
            sharing_agreement_ids: Vec::new(),
            fields: custom(),
            followup_ids: Vec::new(),
            ticket_form_id: FORM_BASE + f.brand as u64 + 1,
            brand_id: brand.id,
            satisfaction_probability: None,
            allow_channelback: false,
            allow_attachments: true,
            from_messaging_channel: false,
        }
    }

    /// The ticket object as a JSON value (for the few places that post-process it).
    pub(crate) fn ticket_value(&self, id: u64) -> Option<Value> {
        let parts = self.ticket_parts(id)?;
        serde_json::to_value(self.ticket(&parts)).ok()
    }

    /// The user object.
    pub(crate) fn user(&self, u: &User) -> Value {
        let staff = u.role != crate::model::Role::EndUser;
        let (zone, iana) = TIME_ZONES[u.zone];
        let (locale, locale_id) = LOCALES[u.locale];
        let photo = staff.then(|| self.photo(u));
        json!({
            "id": u.id,
            "url": format!("{}/api/v2/users/{}.json", self.base, u.id),
            "name": u.name,
            "email": u.email,
            "created_at": iso(u.created_at),
            "updated_at": iso(u.updated_at),
            "time_zone": zone,
            "iana_time_zone": iana,
            "phone": u.phone,
            "shared_phone_number": u.phone.as_ref().map(|_| false),
            "photo": photo,
            "locale_id": locale_id,
            "locale": locale,
            "organization_id": u.org_id,
            "role": u.role.as_str(),
            "verified": u.verified,
            "external_id": null,
            "tags": u.tags,
            "alias": "",
            "active": u.active,
            "shared": false,
            "shared_agent": false,
            "last_login_at": u.last_login_at.map(iso),
            "two_factor_auth_enabled": if staff { json!(true) } else { Value::Null },
            "signature": if staff { json!(format!("{}\nSupport team", u.name)) } else { Value::Null },
            "details": "",
            "notes": u.notes,
            "role_type": if u.light_agent { json!(1) } else { Value::Null },
            "custom_role_id": if u.light_agent { json!(crate::model::USER_BASE - 1) } else { Value::Null },
            "moderator": u.role == crate::model::Role::Admin,
            "ticket_restriction": if staff { Value::Null } else { json!("requested") },
            "only_private_comments": u.light_agent,
            "restricted_agent": !staff || u.light_agent,
            "suspended": false,
            "chat_only": false,
            "default_group_id": u.default_group_id,
            "report_csv": u.role == crate::model::Role::Admin,
            "user_fields": {"customer_since": u.org_id.map(|_| crate::timefmt::date(u.created_at))},
        })
    }

    fn photo(&self, u: &User) -> Value {
        let id = ATTACHMENT_BASE + (u.id % 1_000_000) * 2;
        let file = |suffix: &str| format!("profile_image_{}{suffix}.png", u.id);
        let content = |name: &str| format!("{}/system/photos/{}/{name}", self.base, u.id);
        let attachment = |id: u64, name: String, size: u32, px: u32| {
            json!({
                "url": format!("{}/api/v2/attachments/{id}.json", self.base),
                "id": id,
                "file_name": name,
                "content_url": content(&name),
                "mapped_content_url": content(&name),
                "content_type": "image/png",
                "size": size,
                "width": px,
                "height": px,
                "inline": false,
            })
        };
        let mut photo = attachment(id, file(""), 4296, 80);
        photo["thumbnails"] = json!([attachment(id + 1, file("_thumb"), 1097, 32)]);
        photo
    }

    /// The anonymous user `users/me` answers when no credentials are sent.
    pub(crate) fn anonymous_user(&self) -> Value {
        json!({
            "id": null, "url": null, "name": "Anonymous user", "email": "invalid@example.com",
            "created_at": null, "updated_at": null, "time_zone": "Eastern Time (US & Canada)",
            "iana_time_zone": "America/New_York", "phone": null, "shared_phone_number": null,
            "photo": null, "locale_id": 1, "locale": "en-US", "organization_id": null,
            "role": "end-user", "verified": false,
        })
    }

    /// The organization object.
    pub(crate) fn org(&self, o: &Organization) -> Value {
        json!({
            "url": format!("{}/api/v2/organizations/{}.json", self.base, o.id),
            "id": o.id,
            "name": o.name,
            "shared_tickets": true,
            "shared_comments": true,
            "external_id": null,
            "created_at": iso(o.created_at),
            "updated_at": iso(o.updated_at),
            "deleted_at": null,
            "domain_names": o.domains,
            "details": "",
            "notes": o.notes,
            "group_id": o.group_id,
            "tags": o.tags,
            "organization_fields": {"tier": o.tier},
        })
    }

    /// The group object.
    pub(crate) fn group(&self, g: &Group) -> Value {
        json!({
            "url": format!("{}/api/v2/groups/{}.json", self.base, g.id),
            "id": g.id,
            "is_public": true,
            "name": g.name,
            "description": g.description,
            "default": g.default,
            "deleted": false,
            "created_at": iso(g.created_at),
            "updated_at": iso(g.created_at),
        })
    }

    /// The brand object.
    pub(crate) fn brand(&self, b: &Brand) -> Value {
        let forms: Vec<u64> = (1..=self.acct.brands.len() as u64)
            .map(|i| FORM_BASE + i)
            .collect();
        json!({
            "url": format!("{}/api/v2/brands/{}.json", self.base, b.id),
            "id": b.id,
            "name": b.name,
            "brand_url": format!("https://{}.zendesk.com", b.subdomain),
            "subdomain": b.subdomain,
            "has_help_center": b.default,
            "help_center_state": if b.default { "enabled" } else { "disabled" },
            "active": true,
            "default": b.default,
            "is_deleted": false,
            "logo": null,
            "ticket_form_ids": forms,
            "signature_template": "{{agent.signature}}",
            "created_at": iso(b.created_at),
            "updated_at": iso(b.created_at),
            "host_mapping": null,
        })
    }

    /// The ticket field object.
    pub(crate) fn field(&self, field: &TicketField) -> Value {
        let custom = field.is_custom();
        let mut v = json!({
            "url": format!("{}/api/v2/ticket_fields/{}.json", self.base, field.id),
            "id": field.id,
            "type": field.type_name(),
            "title": field.title,
            "raw_title": field.title,
            "description": field.description,
            "raw_description": field.description,
            "position": field.position,
            "active": true,
            "required": field.type_name() == "assignee",
            "collapsed_for_agents": false,
            "regexp_for_validation": field.regexp(),
            "title_in_portal": field.title,
            "raw_title_in_portal": field.title,
            "visible_in_portal": !custom,
            "editable_in_portal": matches!(field.type_name(), "subject" | "description"),
            "required_in_portal": matches!(field.type_name(), "subject" | "description"),
            "tag": match field.kind { FieldKind::Checkbox(tag) => Some(tag), _ => None },
            "created_at": iso(field.created_at),
            "updated_at": iso(field.created_at),
            "removable": custom || matches!(field.type_name(), "tickettype" | "priority"),
            "key": null,
            "agent_description": null,
        });
        match &field.kind {
            FieldKind::System(_, options) if !options.is_empty() => {
                v["system_field_options"] = options
                    .iter()
                    .map(|(name, value)| json!({"name": name, "value": value}))
                    .collect();
                if matches!(field.type_name(), "status" | "priority") {
                    v["sub_type_id"] = json!(0);
                }
            }
            FieldKind::Options(_, options) => {
                v["custom_field_options"] = options
                    .iter()
                    .enumerate()
                    .map(|(i, (name, value))| {
                        json!({
                            "id": crate::model::option_id(field.id, i),
                            "name": name,
                            "raw_name": name,
                            "value": value,
                            "default": false,
                        })
                    })
                    .collect();
            }
            _ => {}
        }
        v
    }

    /// The comment object (`tickets/{id}/comments`).
    pub(crate) fn comment(&self, c: &Comment) -> Value {
        let mut v = self.comment_fields(c);
        v["via"] = via_json(c.channel);
        v["created_at"] = json!(iso(c.created_at));
        v["metadata"] = metadata(c.audit_id);
        v
    }

    /// The fields a comment has wherever it appears (comments list, audit events, ticket events).
    fn comment_fields(&self, c: &Comment) -> Value {
        json!({
            "id": c.id,
            "type": "Comment",
            "author_id": self.acct.users[c.author].id,
            "body": c.body,
            "html_body": crate::model::text::html(&c.body),
            "plain_body": c.body,
            "public": c.public,
            "attachments": [],
            "audit_id": c.audit_id,
        })
    }

    /// The audit object (`tickets/{id}/audits`).
    pub(crate) fn audit(&self, a: &Audit) -> Value {
        let mut events: Vec<Value> = a.comment.iter().map(|c| self.comment_fields(c)).collect();
        events.extend(a.events.iter().map(|e| match e {
            Event::Create { id, field, value } => {
                json!({"id": id, "type": "Create", "value": value, "field_name": field})
            }
            Event::Change { id, field, value, previous } => json!({
                "id": id, "type": "Change", "value": value, "field_name": field, "previous_value": previous
            }),
            Event::ChatStarted { id, chat_id, visitor_id, history } => json!({
                "id": id,
                "type": "ChatStartedEvent",
                "value": {
                    "chat_id": chat_id,
                    "visitor_id": visitor_id,
                    "history": history.iter().map(|m| json!({
                        "type": "ChatMessage",
                        "actor_type": if m.customer { "end-user" } else { "agent" },
                        "actor_id": self.acct.users[m.actor].id,
                        "actor_name": m.actor_name,
                        "message": m.message,
                        "timestamp": m.timestamp_ms,
                    })).collect::<Vec<_>>(),
                },
            }),
        }));
        json!({
            "id": a.id,
            "ticket_id": a.ticket_id,
            "created_at": iso(a.created_at),
            "author_id": self.acct.users[a.author].id,
            "via": via_json(a.channel),
            "metadata": metadata(a.id),
            "events": events,
        })
    }

    /// The ticket event object of the incremental ticket events export.
    pub(crate) fn ticket_event(&self, a: &Audit, with_comments: bool) -> Value {
        let via = a.channel.event_via();
        let mut children = Vec::new();
        if let (true, Some(c)) = (with_comments, &a.comment) {
            let mut v = self.comment_fields(c);
            v["via"] = json!(via);
            v["via_reference_id"] = Value::Null;
            v["created_at"] = json!(iso(c.created_at));
            v["event_type"] = json!("Comment");
            children.push(v);
        }
        for e in &a.events {
            let child = match e {
                Event::Create { id, field, value } => {
                    json!({"id": id, "via": via, "via_reference_id": null, *field: value, "event_type": "Create"})
                }
                Event::Change {
                    id,
                    field,
                    value,
                    previous,
                } => json!({
                    "id": id, "via": via, "via_reference_id": null, *field: value,
                    "previous_value": previous, "event_type": "Change"
                }),
                Event::ChatStarted { id, .. } => {
                    json!({"id": id, "via": via, "via_reference_id": null, "event_type": "ChatStartedEvent"})
                }
            };
            children.push(child);
        }
        let meta = metadata(a.id);
        json!({
            "id": a.id,
            "ticket_id": a.ticket_id,
            "timestamp": a.created_at,
            "created_at": iso(a.created_at),
            "updater_id": self.acct.users[a.author].id,
            "via": via,
            "system": meta["system"],
            "metadata": meta,
            "event_type": "Audit",
            "child_events": children,
        })
    }

    /// The satisfaction rating object, if the ticket has one.
    pub(crate) fn rating(&self, id: u64) -> Option<Value> {
        let t = self.acct.ticket(id)?;
        let f = self.acct.facts(id, t.base_status);
        let r = f.rating?;
        let at = iso(self.acct.rating_time(t));
        let (reason_code, reason) = r.reason.unwrap_or((0, "No reason provided"));
        Some(json!({
            "url": format!("{}/api/v2/satisfaction_ratings/{}.json", self.base, RATING_BASE + id),
            "id": RATING_BASE + id,
            "assignee_id": f.assignee.map(|a| self.acct.users[a].id),
            "group_id": self.acct.groups[f.group].id,
            "requester_id": self.acct.users[f.requester].id,
            "ticket_id": id,
            "score": r.score.as_str(),
            "created_at": at,
            "updated_at": at,
            "comment": r.comment,
            "reason": if r.score == Score::Offered { Value::Null } else { json!(reason) },
            "reason_id": if r.score == Score::Offered { Value::Null } else { json!(REASON_BASE + u64::from(reason_code)) },
            "reason_code": if r.score == Score::Offered { Value::Null } else { json!(reason_code) },
        }))
    }

    /// The deleted ticket object (`deleted_tickets`).
    pub(crate) fn deleted_ticket(&self, id: u64) -> Option<Value> {
        let p = self.ticket_parts(id)?;
        let actor = &self.acct.users[0];
        let previous = self
            .acct
            .audits(id, &p.facts)
            .iter()
            .flat_map(|a| a.events.iter())
            .find_map(|e| match e {
                Event::Change {
                    value, previous, ..
                } if value == "deleted" => previous.as_str().map(String::from),
                _ => None,
            })
            .unwrap_or_else(|| Status::Open.as_str().to_string());
        Some(json!({
            "id": id,
            "subject": p.facts.subject,
            "description": p.description,
            "actor": {"id": actor.id, "name": actor.name},
            "previous_state": previous,
            "deleted_at": iso(p.state.updated_at),
        }))
    }
}

/// `via` of a comment or of a ticket from a channel without sender details.
fn via_json(channel: Channel) -> Value {
    json!({"channel": channel.as_str(), "source": {"from": {}, "to": {}, "rel": null}})
}

/// Audit metadata; the client details vary with the audit id.
fn metadata(audit_id: u64) -> Value {
    const PLACES: &[(&str, f64, f64)] = &[
        ("San Francisco, CA, United States", 37.7758, -122.4128),
        ("Dublin, Ireland", 53.3331, -6.2489),
        ("Copenhagen, Denmark", 55.6759, 12.5655),
    ];
    let (location, lat, lon) = PLACES[(audit_id % PLACES.len() as u64) as usize];
    json!({
        "system": {
            "client": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "ip_address": format!("203.0.113.{}", audit_id % 250 + 1),
            "location": location,
            "latitude": lat,
            "longitude": lon,
        },
        "custom": {},
    })
}

/// The custom status standing for a status category.
fn custom_status_id(status: Status) -> u64 {
    CUSTOM_STATUS_BASE + Status::ALL.iter().position(|s| *s == status).unwrap_or(0) as u64 + 1
}
