//! The list endpoints (ticket fields, tags, brands, groups): full refreshes
//! with cursor pagination (`page[size]`, stop on `meta.has_more`), or offset
//! pagination (`next_page`) where an endpoint ignores it. Reference lists
//! update their catalog as they are read.

use serde::Deserialize;

use super::body::{peek_all, Body, Meta};
use super::context::{FetchContext, Handled, LIST_MAX};
use super::cursor::{self, State};
use super::definition::Endpoint;
use super::StreamName;
use crate::api::HttpRequestSpec;
use crate::state::catalog::{FieldDef, Named};
use crate::types::{ConnectorError, Page};

/// The request for a list's page (cursor pagination unless `page` says
/// which offset page), and what it reads.
pub(super) fn request(
    ctx: &FetchContext<'_>,
    list: &Endpoint,
    after: Option<&str>,
    page: Option<u32>,
) -> (HttpRequestSpec, String) {
    let size = ctx.size(LIST_MAX).to_string();
    let url = ctx.url(list.path);
    let url = match page {
        Some(page) => url.param("per_page", &size).param("page", page.to_string()),
        None => url
            .param("page[size]", &size)
            .param_opt("page[after]", after),
    };
    (url.get(), list.key.replace('_', " "))
}

/// A ticket field as listed.
#[derive(Deserialize)]
struct FieldPeek {
    id: u64,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    custom_field_options: Vec<OptionPeek>,
}

/// An option of a drop-down ticket field.
#[derive(Deserialize)]
struct OptionPeek {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: Option<String>,
}

/// A brand or a group as listed.
#[derive(Deserialize)]
struct NamedPeek {
    id: u64,
    #[serde(default)]
    name: String,
}

/// A page of a list endpoint; reference lists also update their catalog.
pub(super) fn page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    list: &Endpoint,
    body: &Body<'_>,
    page: Option<u32>,
) -> Result<Handled, ConnectorError> {
    let items = body.items(list.key)?;
    let storage = ctx.storage;
    match stream {
        StreamName::TicketFields => {
            let fields: Vec<(u64, FieldDef)> = peek_all::<FieldPeek>(&items, body.what)?
                .into_iter()
                .map(|f| {
                    let options = f
                        .custom_field_options
                        .into_iter()
                        .filter_map(|o| Some((o.value?, o.name)))
                        .collect();
                    (
                        f.id,
                        FieldDef {
                            title: f.title,
                            kind: f.kind,
                            options,
                        },
                    )
                })
                .collect();
            ctx.catalogs.fields.apply(storage, fields, &[])?;
        }
        StreamName::Brands | StreamName::Groups => {
            let named: Vec<(u64, Named)> = peek_all::<NamedPeek>(&items, body.what)?
                .into_iter()
                .map(|n| (n.id, Named { name: n.name }))
                .collect();
            let catalog = if stream == StreamName::Brands {
                &mut ctx.catalogs.brands
            } else {
                &mut ctx.catalogs.groups
            };
            catalog.apply(storage, named, &[])?;
        }
        _ => {}
    }
    let next = match (body.meta()?, body.get::<String>("next_page")?) {
        (
            Some(Meta {
                has_more: true,
                after_cursor: Some(after),
            }),
            _,
        ) => Some(State::List {
            after: Some(after),
            page: None,
        }),
        (None, Some(_)) => Some(State::List {
            after: None,
            page: Some(page.unwrap_or(1) + 1),
        }),
        _ => None,
    };
    Ok(Handled::Page(Page {
        records: items.iter().map(|r| r.get().to_owned()).collect(),
        done: next.is_none(),
        // A finished full refresh starts over on the next sync.
        next_cursor: next.as_ref().map(cursor::encode),
        ..Page::default()
    }))
}
