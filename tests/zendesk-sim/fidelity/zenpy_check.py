#!/usr/bin/env python3
"""Reads a running zendesk-sim with zenpy, a Zendesk client nobody here wrote.

zenpy talks to https://{subdomain}.zendesk.com as usual: name resolution for *.zendesk.com is
redirected to the simulator's HTTPS port (like `curl --resolve`), TLS verifies the simulator's
certificate for the real host name against REQUESTS_CA_BUNDLE, and the Host header is the real
one. Prints a JSON summary of what zenpy read, for the Rust test to compare with the ground
truth.

Environment: ZD_SIM_PORT, ZD_SIM_SUBDOMAIN, ZD_SIM_EMAIL, ZD_SIM_TOKEN, REQUESTS_CA_BUNDLE.
"""

import json
import os

import urllib3.util.connection as connection

PORT = int(os.environ["ZD_SIM_PORT"])
_create_connection = connection.create_connection


def _to_simulator(address, *args, **kwargs):
    host, _port = address
    if host == "zendesk.com" or host.endswith(".zendesk.com"):
        address = ("127.0.0.1", PORT)
    return _create_connection(address, *args, **kwargs)


connection.create_connection = _to_simulator

from zenpy import Zenpy  # noqa: E402  (after the resolver patch on purpose)


def main():
    client = Zenpy(
        subdomain=os.environ["ZD_SIM_SUBDOMAIN"],
        email=os.environ["ZD_SIM_EMAIL"],
        token=os.environ["ZD_SIM_TOKEN"],
    )
    me = client.users.me()
    tickets = list(client.tickets())
    users = [u.id for u in client.users()]
    exported = [t.id for t in client.tickets.incremental(start_time=0)]
    first = tickets[0]
    comments = list(client.tickets.comments(ticket=first.id))
    fields = sorted({f.type for f in client.ticket_fields()})
    ratings = [r.id for r in client.satisfaction_ratings()]
    open_tickets = [t.id for t in client.search_export(type="ticket", status="open")]
    # Every audit of the account by cursor pagination (zenpy sends page[size]=100), and the
    # first page of the older cursor (without page[size]), which holds the most recent ones.
    audits = [a.id for a in client.tickets.audits()]
    recent_audits = [a.id for a in client.tickets.audits(cursor_pagination=False)]
    print(
        json.dumps(
            {
                "me": {"id": me.id, "role": me.role, "email": me.email},
                "tickets": [t.id for t in tickets],
                "ticket_statuses": sorted({t.status for t in tickets}),
                "users": users,
                "exported": exported,
                "first_ticket": first.id,
                "first_comment_author": comments[0].author_id,
                "comments": [c.id for c in comments],
                "field_types": fields,
                "ratings": ratings,
                "open_tickets": open_tickets,
                "audits": audits,
                "recent_audits": recent_audits,
            }
        )
    )


if __name__ == "__main__":
    main()
