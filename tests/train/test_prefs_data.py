"""The preference-data pipeline: both forms, every error located, dedup, PII,
the split by prompt, provenance, the manifest, and the recipe rules around it."""

import hashlib
import json

import pytest

from finegate.harness import InputError
from finegate.harness.core import Message
from finegate.train import DataConfig, load_recipe
from finegate.train._data import Record
from finegate.train._data import split_of as sft_split_of
from finegate.train._prefs_data import (
    MANIFEST_FORMAT,
    PREFERENCE_FORMATS,
    PreferenceRecord,
    PreparedPreferences,
    prepare_preferences,
)
from finegate.train._recipe import Recipe, data_kind_problems
from finegate.train._run import prepare_for_recipe, train

from .conftest import write_jsonl

PROVENANCE = {"source": "written for these tests", "licence": "CC0", "consent": "no personal data"}

TICKETS = [
    "My parcel was marked delivered but never arrived",
    "The mobile app logs me out every few minutes",
    "I was charged twice for the March subscription",
    "How do I add a second user to our team plan?",
    "The export to CSV button does nothing in Firefox",
    "Can I move my booking from Tuesday to Thursday?",
    "Our invoices still show the old company address",
    "The password reset e-mail never reaches my inbox",
]


def pair(prompt, chosen, rejected, **extra):
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, **PROVENANCE, **extra}


def paired_config(path, **kw):
    return DataConfig(path=str(path), format="preference", **{"pii": "off", **kw})


def problems_of(err, path):
    return [str(p).replace(str(path), "F") for p in err.value.problems]


# -- reading ----------------------------------------------------------------------------


def test_paired_text_and_chat_rows_become_prompt_messages_and_answer_text(tmp_path):
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            pair(TICKETS[0], "I'm sorry: I have opened a trace with the carrier.", "Wait a week."),
            pair(
                [
                    {"role": "system", "content": "You are a courteous support agent."},
                    {"role": "user", "content": TICKETS[1]},
                ],
                [{"role": "assistant", "content": "Please update the app to 4.2, which fixes it."}],
                [{"role": "assistant", "content": "Stop using the app."}],
            ),
        ],
    )
    data = prepare_preferences(paired_config(path, splits=(1.0, 0.0, 0.0)))
    assert isinstance(data, PreparedPreferences) and data.form == "paired"
    first, second = data.splits["train"]
    assert first.prompt == (Message("user", TICKETS[0]),) and first.form == "paired"
    assert first.origin == "pairs.jsonl:1" and first.provenance == PROVENANCE
    assert second.prompt == (
        Message("system", "You are a courteous support agent."),
        Message("user", TICKETS[1]),
    )
    assert second.chosen == "Please update the app to 4.2, which fixes it."
    assert second.to_json() == {
        "prompt": [
            {"role": "system", "content": "You are a courteous support agent."},
            {"role": "user", "content": TICKETS[1]},
        ],
        "chosen": "Please update the app to 4.2, which fixes it.",
        "rejected": "Stop using the app.",
        "provenance": PROVENANCE,
    }


def test_unpaired_rows_keep_their_labels(tmp_path):
    path = write_jsonl(
        tmp_path / "kto.jsonl",
        [
            {
                "prompt": TICKETS[2],
                "completion": "I have refunded the second charge.",
                "label": True,
            },
            {
                "prompt": [{"role": "user", "content": TICKETS[2]}],
                "completion": [{"role": "assistant", "content": "Charges are final."}],
                "label": False,
            },
        ],
    )
    config = DataConfig(path=str(path), format="unpaired_preference", pii="off", splits=(1, 0, 0))
    data = prepare_preferences(config)
    good, bad = data.splits["train"]
    assert (good.label, bad.label, bad.completion) == (True, False, "Charges are final.")
    assert good.form == "unpaired" and data.form == "unpaired"
    assert bad.to_json() == {
        "prompt": [{"role": "user", "content": TICKETS[2]}],
        "completion": "Charges are final.",
        "label": False,
    }
    assert data.manifest["splits"]["train"] == {
        "examples": 2,
        "prompts": 1,
        "desirable": 1,
        "undesirable": 1,
    }


def test_every_problem_of_a_paired_file_is_named_at_once(tmp_path):
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            '{"prompt": "Where is my refund?"',
            {"prompt": TICKETS[6], "chosen": "I have updated the address on your account."},
            {"prompt": "", "chosen": "Sure.", "rejected": "No."},
            {"prompt": 42, "chosen": "Sure.", "rejected": "No."},
            pair(TICKETS[7], "Check the spam folder, please.", "check the SPAM folder   please"),
            pair([{"role": "customer", "content": TICKETS[1]}], "Update the app.", "Reinstall."),
            pair(TICKETS[1], [{"role": "user", "content": "Update the app."}], "Reinstall."),
            {"prompt": TICKETS[3], "completion": "Invite them from Team settings.", "label": True},
            pair(TICKETS[3], ["Invite them.", "From settings."], "You cannot."),
            ["not an object"],
            pair(
                [
                    {"role": "user", "content": TICKETS[4]},
                    {"role": "assistant", "content": "Which version?"},
                ],
                "Thanks, we will fix it.",
                "Use Chrome.",
            ),
            pair(TICKETS[4], 3, "Use Chrome."),
            {**pair(TICKETS[5], "Yes, I have moved it.", "No."), "provenance": "the web"},
            {"prompt": TICKETS[0], "chosen": "I have opened a trace.", "rejected": "Wait a week."},
        ],
    )
    with pytest.raises(InputError) as err:
        prepare_preferences(paired_config(path, require_provenance=True))
    assert problems_of(err, path) == [
        "F:1: invalid JSON: Expecting ',' delimiter (column 1)",
        "F:2: rejected: required field is missing",
        "F:2: provenance: lacks source, licence, consent (the recipe sets require_provenance)",
        "F:3: prompt: must not be empty",
        "F:3: provenance: lacks source, licence, consent (the recipe sets require_provenance)",
        "F:4: prompt: must be text or a list of {role, content} messages",
        "F:4: provenance: lacks source, licence, consent (the recipe sets require_provenance)",
        "F:5: rejected: is the same as chosen (same words): there is nothing to prefer",
        "F:6: prompt[0].role: unknown role 'customer' (system, user, assistant)",
        "F:7: chosen[0].role: must be 'assistant', not 'user'",
        "F:8: completion: an unpaired row (prompt, completion, label) in a file of paired "
        "preferences (prompt, chosen, rejected), as data.format preference says",
        "F:9: chosen: must hold one assistant message, not 2",
        "F:10: expected a JSON object",
        "F:11: prompt: must end with a user message: the answers follow it",
        "F:12: chosen: must be text or a list with one assistant message",
        "F:13: provenance: must be an object (source, licence, consent, ...)",
        "F:14: provenance: lacks source, licence, consent (the recipe sets require_provenance)",
    ]


def test_every_problem_of_an_unpaired_file_is_named_at_once(tmp_path):
    path = write_jsonl(
        tmp_path / "kto.jsonl",
        [
            {"prompt": TICKETS[5], "completion": "Done, it is Thursday now.", "label": "yes"},
            {"prompt": TICKETS[5], "completion": "Bookings are final.", "label": 1},
            {"prompt": TICKETS[5], "completion": "Bookings are final."},
            pair(TICKETS[6], "I have updated it.", "Edit it yourself."),
            {"prompt": TICKETS[6], "completion": "Fixed.", "label": True, "rejected": "No."},
            {"prompt": TICKETS[6], "completion": "  ", "label": False},
            {"prompt": [], "completion": "Fixed.", "label": True},
            {"prompt": [{"content": TICKETS[6]}], "completion": "Fixed.", "label": True},
            {"prompt": TICKETS[6], "completion": "Fixed.", "label": True},
        ],
    )
    with pytest.raises(InputError) as err:
        prepare_preferences(DataConfig(path=str(path), format="unpaired_preference", pii="off"))
    assert problems_of(err, path) == [
        'F:1: label: must be true or false, not "yes"',
        "F:2: label: must be true or false, not 1",
        "F:3: label: required field is missing",
        "F:4: chosen: a paired row (prompt, chosen, rejected) in a file of unpaired "
        "preferences (prompt, completion, label), as data.format unpaired_preference says",
        "F:5: rejected: belongs to the paired form (prompt, chosen, rejected)",
        "F:6: completion: must not be empty",
        "F:7: prompt: must not be empty",
        "F:8: prompt[0].role: required field is missing",
    ]


def test_a_missing_or_empty_file_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"nowhere\.jsonl: file not found"):
        prepare_preferences(paired_config(tmp_path / "nowhere.jsonl"))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match=r"empty\.jsonl: holds no preference examples"):
        prepare_preferences(paired_config(empty))


# -- dedup, PII, split, provenance ------------------------------------------------------

LONG = (
    "Since the update last night the dashboard takes more than a minute to load for "
    "everyone in our Lisbon office and the reports page times out completely when we "
    "filter by region or by month which blocks our month end close"
)


def test_exact_duplicates_and_near_duplicate_prompts_with_the_same_answers_are_dropped(tmp_path):
    fix, shrug = "I have escalated it to engineering.", "Try again later."
    rows = [
        pair(TICKETS[7], "Check the spam folder, please.", "Nothing we can do."),
        pair(
            "  the PASSWORD reset e-mail never reaches my INBOX ",
            "Check the spam folder, please.",
            "Nothing we can do.",
        ),
        pair(TICKETS[7], "I have resent it to your backup address.", "Nothing we can do."),
        pair(LONG + " today", fix, shrug),
        pair(LONG + " again", fix, shrug),  # near duplicate prompt, same answers
        pair(LONG + " again", "Our status page has the details.", shrug),  # other answers
        pair(TICKETS[7] + "!", "I have resent it to your backup address", "nothing we can do"),
    ]
    path = write_jsonl(tmp_path / "pairs.jsonl", rows)
    data = prepare_preferences(paired_config(path))
    assert data.dropped == [
        {"example": "pairs.jsonl:2", "reason": "exact duplicate", "of": "pairs.jsonl:1"},
        {
            "example": "pairs.jsonl:5",
            "reason": "near duplicate",
            "similarity": 0.9487,
            "of": "pairs.jsonl:4",
        },
        {"example": "pairs.jsonl:7", "reason": "exact duplicate", "of": "pairs.jsonl:3"},
    ]
    counts = data.manifest["counts"]
    assert (counts["read"], counts["kept"], counts["dropped_exact"], counts["dropped_near"]) == (
        7,
        4,
        2,
        1,
    )
    assert counts["prompts"] == 3  # TICKETS[7], LONG today, LONG again
    out = data.write(tmp_path / "prepared")
    written = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert written == data.dropped


def test_pii_census_by_type_and_scrubbing_in_prompts_and_answers(tmp_path):
    email, phone, card = "r.ferreira@example.org", "+1 212 555 0198", "4111 1111 1111 1111"
    rows = [
        pair(f"Please send the receipt to {email}", "Sent to your address.", "No."),
        pair(TICKETS[2], f"Refunded to the card {card}.", f"Call us on {phone}."),
        {"prompt": TICKETS[3], "chosen": f"Invite {email} from Team settings.", "rejected": "No."},
        pair(TICKETS[0], "I have opened a trace with the carrier.", "Wait a week."),
    ]
    path = write_jsonl(tmp_path / "pairs.jsonl", rows)
    data = prepare_preferences(paired_config(path, pii="pattern", splits=(1.0, 0.0, 0.0)))
    pii = data.manifest["pii"]
    assert pii["by_type"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1}
    assert (pii["total"], pii["texts"], pii["texts_with_pii"]) == (4, 4, 3)
    assert pii["max_value_repeats"] == 2 and pii["scrubbed"] is False
    assert pii["scanner"]["mode"] == "pattern"
    assert data.manifest["group_privacy"]["max_pii_value_repeats"] == 2
    assert email in json.dumps([r.to_json() for r in data.splits["train"]])

    scrubbed = prepare_preferences(
        paired_config(path, pii="pattern", scrub_pii=True, splits=(1.0, 0.0, 0.0))
    )
    records = scrubbed.splits["train"]
    assert records[0].prompt[0].content == "Please send the receipt to <EMAIL_ADDRESS>"
    assert records[1].chosen == "Refunded to the card <CREDIT_CARD>."
    assert records[1].rejected == "Call us on <PHONE_NUMBER>."
    assert records[2].chosen == "Invite <EMAIL_ADDRESS> from Team settings."
    assert records[3] == data.splits["train"][3]  # nothing found: unchanged
    assert scrubbed.manifest["pii"]["scrubbed"] is True
    written = scrubbed.write(tmp_path / "scrubbed")
    for name in ("train.jsonl", "dataset_manifest.json", "dropped.jsonl"):
        text = (written / name).read_text()
        assert email not in text and "4111" not in text and "555 0198" not in text


def test_the_split_is_by_prompt_so_no_prompt_straddles_splits(tmp_path):
    rows = []
    for i in range(60):
        prompt = f"Customer {i}: the sync with our calendar stopped on device {i % 7}"
        for j in range(5):
            shown = prompt.upper() if j == 4 else prompt  # same words, other case
            rows.append(pair(shown, f"Answer {j} for customer {i}: re-link the calendar.", "No."))
    path = write_jsonl(tmp_path / "pairs.jsonl", rows)
    data = prepare_preferences(paired_config(path))
    assert data.manifest["counts"]["kept"] == 300 and not data.dropped
    split_of = {}
    for name, records in data.splits.items():
        for r in records:
            assert split_of.setdefault(r.prompt_key, name) == name, r.origin
    assert len(split_of) == 60
    assert all(data.splits[name] for name in ("train", "validation", "test"))
    per_split = data.manifest["splits"]
    for name, records in data.splits.items():
        assert per_split[name] == {"examples": len(records), "prompts": len(records) // 5}
    assert sum(s["prompts"] for s in per_split.values()) == 60
    assert data.manifest["group_privacy"]["max_prompt_repeats"] == 5
    # the key is the prompt's words: the order of the file and other rows do not move it
    again = prepare_preferences(paired_config(write_jsonl(tmp_path / "r.jsonl", rows[::-1])))
    assert {r.prompt_key: n for n, rs in again.splits.items() for r in rs} == split_of
    record = PreferenceRecord(
        (Message("user", "customer 3:  THE sync with our calendar stopped on device 3"),), "a", "b"
    )
    assert record.prompt_key in split_of
    # what a split by each example's content (the SFT pipeline's) would have done
    by_content = {}
    for r in (r for rs in data.splits.values() for r in rs):
        content = Record(r.conversation, r.origin)
        by_content.setdefault(r.prompt_key, set()).add(sft_split_of(content, (0.8, 0.1, 0.1)))
    assert any(len(splits) > 1 for splits in by_content.values())


def test_provenance_is_carried_and_counted(tmp_path):
    rows = [
        pair(TICKETS[0], "I have opened a trace.", "Wait a week."),
        {"prompt": TICKETS[1], "chosen": "Update the app.", "rejected": "Reinstall."},
        {
            "prompt": TICKETS[2],
            "chosen": "Refunded.",
            "rejected": "No.",
            "source": "helpdesk export",
            "provenance": {"licence": "internal", "consent": "terms of service §4"},
        },
    ]
    path = write_jsonl(tmp_path / "pairs.jsonl", rows)
    data = prepare_preferences(paired_config(path, splits=(1.0, 0.0, 0.0)))
    prov = data.manifest["provenance"]
    assert (prov["missing"], prov["missing_examples"], prov["required"]) == (
        1,
        ["pairs.jsonl:2"],
        False,
    )
    assert data.splits["train"][2].provenance == {
        "source": "helpdesk export",
        "licence": "internal",
        "consent": "terms of service §4",
    }
    with pytest.raises(InputError) as err:
        prepare_preferences(paired_config(path, require_provenance=True))
    assert problems_of(err, path) == [
        "F:2: provenance: lacks source, licence, consent (the recipe sets require_provenance)"
    ]


# -- the manifest -----------------------------------------------------------------------


def test_the_manifest_is_deterministic_and_names_what_went_in(tmp_path):
    rows = [
        pair(t, f"Here is how I fixed it ({i}).", "Please contact support.")
        for i, t in enumerate(TICKETS)
    ]
    path = write_jsonl(tmp_path / "pairs.jsonl", rows)
    first = prepare_preferences(paired_config(path, pii="pattern"))
    second = prepare_preferences(paired_config(path, pii="pattern"))
    a, b = first.write(tmp_path / "a"), second.write(tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == [
        "dataset_manifest.json",
        "dropped.jsonl",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    m = json.loads((a / "dataset_manifest.json").read_text())
    assert m["sha256"] == first.hash == second.hash
    assert (m["format"], m["form"]) == (MANIFEST_FORMAT, "paired")
    assert m["files"] == [
        {
            "name": "pairs.jsonl",
            "examples": 8,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    ]
    for name in ("train", "validation", "test"):
        split = (a / f"{name}.jsonl").read_bytes()
        assert m["splits_sha256"][name] == hashlib.sha256(split).hexdigest()
        assert len(m["examples"][name]) == m["counts"][name] == m["splits"][name]["examples"]
    assert m["example_digests"]["algorithm"] == "hmac-sha256" and m["canaries"] == []
    assert m["config"]["format"] == "preference" and m["pii"]["total"] == 0
    rows[0]["chosen"] = "Another answer."
    changed = prepare_preferences(paired_config(write_jsonl(path, rows), pii="pattern"))
    assert changed.hash != first.hash


# -- recipes ----------------------------------------------------------------------------


def recipe(tmp_path, method, data, name="r.yaml"):
    path = tmp_path / name
    path.write_text(f"id: prefs-{method}\nmethod: {method}\ndata:\n{data}")
    return path


def test_dp_sgd_with_preference_data_is_refused_with_the_reason(tmp_path):
    path = recipe(tmp_path, "dp-sgd", "  path: pairs.jsonl\n  format: preference\n")
    with pytest.raises(InputError) as err:
        load_recipe(path)
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 5, "data.format")
    assert problem.message.startswith(
        "method 'dp-sgd' trains on SFT data, and 'preference' is preference data: "
        "DP-SGD with DPO or KTO is not supported: opacus bounds each example's influence"
    )
    assert "no pairwise clipping" in problem.message


def test_canaries_and_a_sft_trainer_are_refused_with_preference_data_at_once(tmp_path):
    path = recipe(
        tmp_path,
        "lora",
        "  path: kto.jsonl\n  format: unpaired_preference\n  canaries:\n    count: 3\n",
    )
    with pytest.raises(InputError) as err:
        load_recipe(path)
    assert problems_of(err, path) == [
        "F:5: data.format: method 'lora' trains on SFT data, and 'unpaired_preference' is "
        "preference data: train it with a preference trainer (dpo for paired, kto for "
        "unpaired data)",
        "F:7: data.canaries.count: canaries are inserted into SFT data for memorisation "
        "tests; preference data (format 'unpaired_preference') takes none: set count to 0",
    ]
    config = DataConfig(path="kto.jsonl", format="unpaired_preference", canaries={"count": 3})
    with pytest.raises(InputError, match=r"^data.canaries.count: canaries are inserted"):
        prepare_preferences(config)


def test_preference_data_needs_a_file_not_a_suite(tmp_path):
    path = recipe(tmp_path, "lora", "  suite: task/support_triage\n  format: preference\n")
    with pytest.raises(InputError) as err:
        load_recipe(path)
    assert problems_of(err, path) == [
        "F:3: data: Value error, format 'preference' is read from a JSONL file: give 'path' "
        "(a suite cannot be a source of preference data)"
    ]


def test_a_preference_trainer_refuses_sft_data():
    class Preferring:
        data_kind = "preference"

    for data, what in [
        ({"path": "d.jsonl", "format": "chat"}, "'chat' is SFT data"),
        ({"suite": "task/support_triage"}, "a suite's cases are SFT data"),
        ({"path": "d.jsonl"}, "the file is read as SFT data (no data.format given)"),
    ]:
        r = Recipe.model_validate({"id": "x", "method": "dpo", "data": data})
        ((loc, message),) = data_kind_problems(r, Preferring)
        assert loc == ("data", "format")
        assert message == (
            f"method 'dpo' trains on preference data, and {what}: set data.format to "
            "preference (prompt, chosen, rejected) or unpaired_preference (prompt, completion, "
            "label), with path a JSONL file"
        )
    r = Recipe.model_validate({"id": "x", "method": "dpo", "data": {"path": "d.jsonl"}})
    assert data_kind_problems(r, type("Sft", (), {})) == []  # no data_kind: SFT


def test_train_refuses_a_mismatch_before_reading_data_and_prepare_routes_by_format(tmp_path):
    r = Recipe.model_validate(
        {"id": "p", "method": "lora", "data": {"path": "absent.jsonl", "format": "preference"}}
    )
    with pytest.raises(InputError, match=r"^recipe p: data.format: method 'lora' trains on SFT"):
        train(r, None, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    write_jsonl(tmp_path / "pairs.jsonl", [pair(TICKETS[0], "Traced.", "Wait.")])
    r = Recipe.model_validate(
        {"id": "p", "method": "kto", "data": {"path": "pairs.jsonl", "format": "preference"}}
    )
    data = prepare_for_recipe(r, tmp_path)
    assert isinstance(data, PreparedPreferences) and data.manifest["counts"]["read"] == 1
    assert PREFERENCE_FORMATS == ("preference", "unpaired_preference")


def test_sft_recipes_hash_as_before_the_preference_formats():
    """The hashes these recipes had before ``data.format`` took preference data."""
    lora = {"id": "x", "method": "lora", "data": {"path": "d.jsonl", "format": "chat"}}
    dp = {
        "id": "x",
        "method": "dp-sgd",
        "data": {"suite": "task/support_triage"},
        "config": {"r": 4},
    }
    assert [Recipe.model_validate(r).hash() for r in (lora, dp)] == [
        "9db70aba37c688a34b161766f5b07c6e1f90247dcb845d6789c3cb6a11192018",
        "edaa994c8f3a974ab6856f358580f206d25f8d7a9a2bee37e0ec08a1d9b86e64",
    ]
