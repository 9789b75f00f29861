"""Subjects and cards as services hand them out: views with the contract's JSON, one active card."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from appliance.errors import NotFound, UnknownCard, UserError
from appliance.services.cards import get_card, issue_card, set_card_active
from appliance.services.subjects import SubjectInput, add_subject, get_subject, list_subjects, update_subject


def test_a_new_subject_answers_with_the_card_json(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana   López", "55 1234 5678", "María"))
    assert card.as_json() == {
        "subject_id": card.subject_id,
        "card_uuid": card.uuid,
        "scan_url": f"http://keryu.local/scan/{card.uuid}",
    }
    subject = get_subject(kiosk, card.subject_id)
    assert (subject.name, subject.custodian_phone, subject.card) == ("Ana López", "+525512345678", card)


def test_a_new_card_replaces_the_active_one_and_cards_are_newest_first(kiosk):
    first = add_subject(kiosk, SubjectInput("Ana", "55 1234 5678"))
    second = issue_card(kiosk, first.subject_id)
    subject = get_subject(kiosk, first.subject_id)
    assert [card.uuid for card in subject.cards] == [second.uuid, first.uuid]
    assert subject.card == second and not get_card(kiosk, first.uuid).active
    assert set_card_active(kiosk, first.uuid, True).active and not get_card(kiosk, second.uuid).active


def test_the_api_json_of_a_subject_names_its_active_card(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana", "55 1234 5678", "María"))
    [subject] = list_subjects(kiosk, search="maría")
    shown = subject.as_json()
    assert (shown["card_uuid"], shown["scan_url"], shown["custodian_name"]) == (card.uuid, card.scan_url, "María")
    assert list_subjects(kiosk, search="nobody") == []


def test_an_edit_returns_what_is_stored(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana", "55 1234 5678"))
    edited = update_subject(kiosk, card.subject_id, SubjectInput("Ana María", "+52 55 8765 4321", "Rosa", "allergic"))
    assert edited == get_subject(kiosk, card.subject_id)
    assert (edited.name, edited.custodian_name, edited.custodian_phone) == ("Ana María", "Rosa", "+525587654321")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda kiosk: get_subject(kiosk, 99), NotFound),
        (lambda kiosk: issue_card(kiosk, 99), NotFound),
        (lambda kiosk: get_card(kiosk, "not-a-uuid"), UserError),
        (lambda kiosk: get_card(kiosk, "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"), UnknownCard),
        (lambda kiosk: add_subject(kiosk, SubjectInput(" ", "55 1234 5678")), UserError),
    ],
)
def test_mistakes_are_one_clear_error(kiosk, call, error):
    with pytest.raises(error):
        call(kiosk)


def test_the_subject_list_costs_the_same_queries_for_three_subjects_as_for_thirty(kiosk):
    """The admin page lists up to 500: their cards and custodians come in one query each, not one per subject."""

    def selects_to_list() -> int:
        selects: list[str] = []

        def on_statement(_conn, _cursor, statement: str, *_rest) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                selects.append(statement)

        event.listen(kiosk.store._read_engine, "before_cursor_execute", on_statement)
        try:
            listed = list_subjects(kiosk)
        finally:
            event.remove(kiosk.store._read_engine, "before_cursor_execute", on_statement)
        assert all(subject.custodians and subject.card for subject in listed)
        return len(selects)

    for number in range(3):
        add_subject(kiosk, SubjectInput(name=f"Ana {number}", phone=f"+52155123400{number:02d}"))
    few = selects_to_list()
    for number in range(3, 30):
        add_subject(kiosk, SubjectInput(name=f"Ana {number}", phone=f"+52155123400{number:02d}"))
    assert selects_to_list() == few
