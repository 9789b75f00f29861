"""Subject and card commands: subject add|list, card new|image|sheet.

The services (and the QR and PDF libraries behind cards) are imported by the command that uses
them, never by a service process that only registers these commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.context import CliContext, print_json
from appliance.errors import UserError


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
    from appliance.services.subjects import SubjectInput, add_subject

    card = add_subject(ctx.kiosk, SubjectInput(args.name, args.phone, args.custodian))
    print_json(card.as_json())
    return 0


def cmd_subject_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.subjects import list_subjects

    subjects = list_subjects(ctx.kiosk)
    if args.json:
        print_json(
            [
                {
                    "subject_id": subject.id,
                    "name": subject.name,
                    "active": subject.active,
                    "custodian": subject.custodian_name,
                    "phone": subject.custodian_phone,
                    "card_uuid": subject.card.uuid if subject.card else None,
                }
                for subject in subjects
            ]
        )
        return 0
    if not subjects:
        print("No subjects.")
    for subject in subjects:
        state = "" if subject.active else " (inactive)"
        card_uuid = subject.card.uuid if subject.card else None
        print(
            f"{subject.id:<5} {subject.name}{state}  custodian {subject.custodian_name} {subject.custodian_phone}"
            f"  card {card_uuid}"
        )
    return 0


def cmd_card_new(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.cards import issue_card

    print_json(issue_card(ctx.kiosk, args.subject_id).as_json())
    return 0


def _writable(path: Path) -> Path:
    if not path.parent.exists():
        raise UserError("The folder {folder} does not exist.", folder=str(path.parent))
    return path


def cmd_card_image(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.cards import card_png

    out = _writable(args.out)
    out.write_bytes(card_png(ctx.kiosk, args.uuid))
    print(f"Wrote {out}")
    return 0


def cmd_card_sheet(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.cards import card_sheet_pdf

    pdf = card_sheet_pdf(ctx.kiosk)
    _writable(args.out).write_bytes(pdf)
    print(f"Wrote {args.out}")
    return 0
