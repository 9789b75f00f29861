"""The seed's own example number, typed at the console, is accepted and kept in today's form."""

from __future__ import annotations

import json


def test_subject_add_accepts_the_seeds_number_and_stores_todays_form(run):
    run("init")
    added = run("subject", "add", "--name", "Ana López", "--phone", "+5212345678901")
    assert added.returncode == 0, added.stderr
    [subject] = json.loads(run("subject", "list", "--json").stdout)
    assert subject["phone"] == "+522345678901"


def test_a_number_without_country_code_takes_the_configured_region(run):
    run("init")
    added = run("subject", "add", "--name", "Ann", "--phone", "415 555 2671", KERYU_DEFAULT_REGION="US")
    assert added.returncode == 0, added.stderr
    assert json.loads(run("subject", "list", "--json").stdout)[0]["phone"] == "+14155552671"
