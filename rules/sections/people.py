"""The ``people`` and ``teams`` sections."""

from __future__ import annotations

from datetime import timedelta

import yaml

from rules.channels import Channel
from rules.people import ContactMethod, Person, Team
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.sla_rules import read_sla_escalation, read_support_hours
from rules.yamlread import join


def read_people(ctx: FileContext, node: yaml.Node, key: str) -> list[Person]:
    """Reads the list under ``people``."""
    return ctx.read_named(node, key, "person", _read_person)


def _read_person(ctx: FileContext, node: yaml.Node, key: str) -> Person | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "display_name", "time_zone", "contacts", "manager"},
        {"name", "contacts"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    display = read.optional(values, "display_name", key, reader.string)
    zone = read.optional(values, "time_zone", key, lambda n, k: read.zone(reader, n, k))
    manager = read.optional(values, "manager", key, lambda n, k: read.name(reader, n, k))
    if manager is not None:
        ctx.refer("person", manager, values["manager"], join(key, "manager"))
        if manager == name:
            reader.problem(values["manager"], join(key, "manager"), "is the person themself")
    contacts: list[ContactMethod] = []
    if "contacts" in values:
        for item_key, item in reader.sequence(values["contacts"], join(key, "contacts")):
            contact = _read_contact(ctx, item, item_key)
            if contact is not None:
                contacts.append(contact)
        if not contacts and len(reader.problems) == before:
            reader.problem(values["contacts"], join(key, "contacts"), "give at least one contact")
    if name is None or len(reader.problems) > before:
        return None
    return Person(name, display or name, tuple(contacts), zone, manager)


def _read_contact(ctx: FileContext, node: yaml.Node, key: str) -> ContactMethod | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"channel", "address", "delay"}, {"channel"})
    if values is None:
        return None
    channel = read.optional(values, "channel", key, lambda n, k: read.name(reader, n, k))
    address = read.optional(values, "address", key, reader.string)
    delay = read.optional(values, "delay", key, lambda n, k: read.duration(reader, n, k))
    if channel is None:
        return None

    def needs_address(found: object) -> str | None:
        if isinstance(found, Channel) and found.needs_address and address is None:
            return f"channel {found.name!r} is an {found.kind.value} channel: give an address"
        return None

    ctx.refer("channel", channel, values["channel"], join(key, "channel"), needs_address)
    return ContactMethod(channel, address or "", delay or timedelta(0))


def read_teams(ctx: FileContext, node: yaml.Node, key: str) -> list[Team]:
    """Reads the list under ``teams``."""
    return ctx.read_named(node, key, "team", _read_team)


def _read_team(ctx: FileContext, node: yaml.Node, key: str) -> Team | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "display_name", "members", "channel", "policy", "sla_escalation", "support_hours"},
        {"name", "members"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    display = read.optional(values, "display_name", key, reader.string)
    members: list[str] = []
    if "members" in values:
        members_key = join(key, "members")
        for member_key, member, member_node in reader.strings(values["members"], members_key):
            if member in members:
                reader.problem(member_node, member_key, f"{member!r} is listed twice")
                continue
            ctx.refer("person", member, member_node, member_key)
            members.append(member)
        if not members and len(reader.problems) == before:
            reader.problem(values["members"], members_key, "give at least one member")
    channel = read.optional(values, "channel", key, lambda n, k: read.name(reader, n, k))
    if channel is not None:
        ctx.refer("channel", channel, values["channel"], join(key, "channel"))
    policy = read.optional(values, "policy", key, lambda n, k: read.name(reader, n, k))
    if policy is not None:
        ctx.refer("policy", policy, values["policy"], join(key, "policy"))
    sla = read.optional(values, "sla_escalation", key, lambda n, k: read_sla_escalation(ctx, n, k))
    hours = read.optional(values, "support_hours", key, lambda n, k: read_support_hours(ctx, n, k))
    if name is None or len(reader.problems) > before:
        return None
    return Team(name, display or name, tuple(members), channel, policy, sla, hours)
