"""Custodian commands: custodian add|list|remove (the people told of a subject's alarms, in order)."""

from __future__ import annotations

import argparse

from appliance.cli.context import CliContext, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    custodian = subparsers.add_parser("custodian", help="the people told of a subject's alarms")
    sub = custodian.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a custodian after the subject's others")
    add.add_argument("subject_id", type=int)
    add.add_argument("--name", required=True)
    add.add_argument("--phone", required=True, help="e.g. +525512345678")
    add.add_argument("--language", choices=("es", "en"), default="es")
    add.set_defaults(handler=cmd_custodian_add)
    listing = sub.add_parser("list", help="a subject's custodians, first one first")
    listing.add_argument("subject_id", type=int)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_custodian_list)
    remove = sub.add_parser("remove", help="stop telling a custodian (a subject keeps at least one)")
    remove.add_argument("custodian_id", type=int)
    remove.set_defaults(handler=cmd_custodian_remove)


def cmd_custodian_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.custodians import add_custodian

    custodian = add_custodian(ctx.kiosk, args.subject_id, args.name, args.phone, args.language)
    print_json(custodian.as_json())
    return 0


def cmd_custodian_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.custodians import list_custodians

    custodians = list_custodians(ctx.kiosk, args.subject_id)
    if args.json:
        print_json([custodian.as_json() for custodian in custodians])
        return 0
    for custodian in custodians:
        print(
            f"{custodian.id:>5}  {custodian.position + 1}.  {custodian.name}  {custodian.phone}  {custodian.language}"
        )
    return 0


def cmd_custodian_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.custodians import remove_custodian

    custodian = remove_custodian(ctx.kiosk, args.custodian_id)
    print(f"{custodian.name} ({custodian.phone}) is no longer told of alarms.")
    return 0
