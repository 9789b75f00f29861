"""Subject and card commands: subject add|list, card new|image|sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.context import CliContext, print_json
from appliance.errors import UserError
from appliance.services import cards as card_service
from appliance.services.subjects import SubjectInput, active_card, add_subject, list_subjects


def register(subparsers: argparse._SubParsersAction) -> None:
    subject = subparsers.add_parser("subject", help="subjects (card holders)")
    subject_sub = subject.add_subparsers(dest="action", required=True)
    add = subject_sub.add_parser("add", help="add a subject with a new active card")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", required=True, help="the custodian's phone, e.g. +525512345678")
    add.add_argument("--custodian", default="", help="the custodian's name")
    add.set_defaults(handler=cmd_subject_add)
    listing = subject_sub.add_parser("list", help="list subjects")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_subject_list)

    card = subparsers.add_parser("card", help="QR cards")
    card_sub = card.add_subparsers(dest="action", required=True)
    new = card_sub.add_parser("new", help="issue a new card (the old one is deactivated)")
    new.add_argument("subject_id", type=int)
    new.set_defaults(handler=cmd_card_new)
    image = card_sub.add_parser("image", help="render a card's QR code as PNG")
    image.add_argument("uuid")
    image.add_argument("--out", required=True, type=Path)
    image.set_defaults(handler=cmd_card_image)
    sheet = card_sub.add_parser("sheet", help="printable PDF sheet of all active cards")
    sheet.add_argument("--out", required=True, type=Path)
    sheet.set_defaults(handler=cmd_card_sheet)


def cmd_subject_add(args: argparse.Namespace, ctx: CliContext) -> int:
    kiosk = ctx.kiosk
    with kiosk.store.session() as session:
        _, card = add_subject(
            session, SubjectInput(args.name, args.phone, args.custodian), region=kiosk.settings.default_region
        )
        print_json(card_service.card_json(card, kiosk.settings.public_url))
    return 0


def cmd_subject_list(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.kiosk.store.read() as session:
        rows = []
        for subject in list_subjects(session):
            card = active_card(subject)
            rows.append(
                {
                    "subject_id": subject.id,
                    "name": subject.name,
                    "active": subject.active,
                    "custodian": subject.custodian.name,
                    "phone": subject.custodian.phone,
                    "card_uuid": card.uuid if card else None,
                }
            )
    if args.json:
        print_json(rows)
    elif not rows:
        print("No subjects.")
    for row in rows if not args.json else []:
        state = "" if row["active"] else " (inactive)"
        print(
            f"{row['subject_id']:<5} {row['name']}{state}  custodian {row['custodian']} {row['phone']}"
            f"  card {row['card_uuid']}"
        )
    return 0


def cmd_card_new(args: argparse.Namespace, ctx: CliContext) -> int:
    kiosk = ctx.kiosk
    with kiosk.store.session() as session:
        card = card_service.issue_card(session, args.subject_id)
        print_json(card_service.card_json(card, kiosk.settings.public_url))
    return 0


def _writable(path: Path) -> Path:
    if not path.parent.exists():
        raise UserError(f"The folder {path.parent} does not exist.")
    return path


def cmd_card_image(args: argparse.Namespace, ctx: CliContext) -> int:
    kiosk = ctx.kiosk
    with kiosk.store.read() as session:
        out = card_service.write_card_png(session, args.uuid, kiosk.settings.public_url, _writable(args.out))
    print(f"Wrote {out}")
    return 0


def cmd_card_sheet(args: argparse.Namespace, ctx: CliContext) -> int:
    kiosk = ctx.kiosk
    with kiosk.store.read() as session:
        pdf = card_service.card_sheet_pdf(session, kiosk.settings.public_url)
    _writable(args.out).write_bytes(pdf)
    print(f"Wrote {args.out}")
    return 0
