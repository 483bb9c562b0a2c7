"""The data pipeline: errors, dedup, splits, PII census, canaries, provenance."""

import json

import pytest

from finegate.harness import InputError
from finegate.train import DataConfig, prepare
from finegate.train._data import Record, split_of

from .conftest import arithmetic_rows, write_jsonl


def test_malformed_lines_are_all_named(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", ['{"prompt": "a"', {"prompt": "x"}, {"foo": 1}])
    with pytest.raises(InputError) as err:
        prepare(DataConfig(path=str(path)))
    text = str(err.value)
    assert f"{path}:1: invalid JSON" in text and f"{path}:2: completion: required field" in text
    assert f"{path}:3: unknown format" in text


def test_exact_and_near_duplicates_are_dropped_and_reported(tmp_path):
    rows = arithmetic_rows(10)
    rows.append({"prompt": "  q3: WHAT is 3 plus 3? ", "completion": "6"})  # same words
    long = (
        "The printer on the third floor keeps jamming whenever we print double sided "
        "reports for the quarterly board meeting and nobody from facilities has come by to "
        "look at it even though we opened a request last week"
    )
    rows.append({"prompt": long + " today", "completion": "call facilities"})
    rows.append({"prompt": long + " again", "completion": "call facilities"})
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    data = prepare(DataConfig(path=str(path), pii="off", near_duplicate=0.8))
    assert data.manifest["counts"]["dropped_exact"] == 1
    assert data.manifest["counts"]["dropped_near"] == 1
    exact, near = data.dropped
    assert exact == {"example": "d.jsonl:11", "reason": "exact duplicate", "of": "d.jsonl:4"}
    assert near["example"] == "d.jsonl:13" and near["of"] == "d.jsonl:12"
    assert near["similarity"] >= 0.8


def test_the_split_follows_the_content_not_the_order(tmp_path):
    rows = arithmetic_rows(60)
    a = prepare(DataConfig(path=str(write_jsonl(tmp_path / "a.jsonl", rows)), pii="off"))
    b = prepare(
        DataConfig(
            path=str(
                write_jsonl(
                    tmp_path / "b.jsonl",
                    [*rows[::-1], {"prompt": "a new example", "completion": "x"}],
                )
            ),
            pii="off",
        )
    )
    for name in ("train", "validation", "test"):
        assert set(a.manifest["examples"][name]) <= set(b.manifest["examples"][name])
    assert sum(a.manifest["counts"][n] for n in ("train", "validation", "test")) == 60
    assert a.manifest["counts"]["train"] > a.manifest["counts"]["test"]
    record = a.splits["train"][0]
    assert split_of(Record(record.messages, "elsewhere"), (0.8, 0.1, 0.1)) == "train"


def test_pii_census_scrubbing_and_group_privacy(tmp_path):
    rows = [
        {"prompt": "Write to me at jo.bloggs@example.com please", "completion": "noted"},
        {"prompt": "My number is +1 415 555 0134", "completion": "ok"},
        {"prompt": "Card 4111 1111 1111 1111 was charged twice", "completion": "refund"},
        {"prompt": "Again: jo.bloggs@example.com, card 4111 1111 1111 1111", "completion": "ok"},
        {"prompt": "Nothing personal here", "completion": "fine"},
    ]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    data = prepare(DataConfig(path=str(path), pii="pattern", splits=(1.0, 0.0, 0.0)))
    pii = data.manifest["pii"]
    assert pii["by_type"] == {"CREDIT_CARD": 2, "EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1}
    assert pii["texts_with_pii"] == 4 and pii["scrubbed"] is False
    assert data.manifest["group_privacy"]["max_pii_value_repeats"] == 2
    scrubbed = prepare(
        DataConfig(path=str(path), pii="pattern", scrub_pii=True, splits=(1.0, 0.0, 0.0))
    )
    text = json.dumps([r.to_json() for r in scrubbed.splits["train"]])
    assert "jo.bloggs" not in text and "4111" not in text and "555 0134" not in text
    assert "<EMAIL_ADDRESS>" in text and scrubbed.manifest["pii"]["scrubbed"] is True
    assert "jo.bloggs" not in json.dumps(scrubbed.manifest)


def test_canaries_go_to_train_only_and_are_recorded(tmp_path):
    from finegate.train import CanaryConfig

    path = write_jsonl(tmp_path / "d.jsonl", arithmetic_rows(20))
    config = DataConfig(path=str(path), pii="off", canaries=CanaryConfig(count=3, repetitions=4))
    data = prepare(config, seed=7)
    canaries = data.manifest["canaries"]
    assert len(canaries) == 3 and all(c["repetitions"] == 4 for c in canaries)
    assert all(len(c["secret"]) == 6 and c["secret"].isdigit() for c in canaries)
    in_train = [r for r in data.splits["train"] if r.canary is not None]
    assert len(in_train) == 12
    assert not any(r.canary is not None for n in ("validation", "test") for r in data.splits[n])
    assert in_train[0].messages[-1].content == canaries[0]["text"]
    assert canaries[0]["text"].startswith(canaries[0]["prefix"])
    assert data.manifest["group_privacy"]["max_record_repeats"] == 4
    assert prepare(config, seed=7).manifest["canaries"] == canaries
    assert prepare(config, seed=8).manifest["canaries"] != canaries


def test_provenance_is_carried_and_missing_fields_counted(tmp_path):
    rows = [*arithmetic_rows(5), {"prompt": "no provenance", "completion": "x"}]
    data = prepare(
        DataConfig(
            path=str(write_jsonl(tmp_path / "d.jsonl", rows)), pii="off", require_provenance=True
        )
    )
    prov = data.manifest["provenance"]
    assert prov["missing"] == 1 and prov["missing_examples"] == ["d.jsonl:6"]
    assert prov["required"] is True
    first = next(r for s in data.splits.values() for r in s if r.origin == "d.jsonl:1")
    assert first.provenance == {
        "source": "generated",
        "licence": "CC0",
        "consent": "not personal data",
    }


def test_the_manifest_names_files_and_examples_by_hash(tmp_path):
    import hashlib

    path = write_jsonl(tmp_path / "d.jsonl", arithmetic_rows(12))
    data = prepare(DataConfig(path=str(path), pii="off"))
    assert data.manifest["files"] == [
        {"name": "d.jsonl", "examples": 12, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    ]
    assert data.hash == prepare(DataConfig(path=str(path), pii="off")).hash
    out = data.write(tmp_path / "prepared")
    assert json.loads((out / "dataset_manifest.json").read_text())["sha256"] == data.hash
    lines = (out / "train.jsonl").read_text().splitlines()
    assert len(lines) == data.manifest["counts"]["train"]


def test_a_guessed_record_cannot_be_tested_against_a_shipped_manifest(tmp_path, finegate_home):
    """Someone holding the adapter (and so its dataset_manifest.json) guesses a
    record and hashes it the way the manifest's digests used to be made."""
    import os

    from finegate.harness.core import Message, sha256_json
    from finegate.train._digests import example_digest, key_path

    rows = arithmetic_rows(12)
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    data = prepare(DataConfig(path=str(path), pii="off", splits=(1.0, 0.0, 0.0)))
    shipped = json.loads((data.write(tmp_path / "shipped") / "dataset_manifest.json").read_text())
    listed = set(shipped["examples"]["train"])
    guess = (Message("user", rows[3]["prompt"]), Message("assistant", rows[3]["completion"]))
    plain = sha256_json([[m.role, m.content] for m in guess])  # the unkeyed digest
    assert plain not in listed and len(listed) == 12
    key = bytes.fromhex(key_path().read_text().strip())  # the owner's secret, outside the folder
    assert example_digest(guess, key) in listed
    assert (
        key_path().is_relative_to(finegate_home) and oct(os.stat(key_path()).st_mode)[-3:] == "600"
    )
    assert key.hex() not in json.dumps(shipped)
    assert shipped["example_digests"]["algorithm"] == "hmac-sha256"
    assert shipped["splits_sha256"]["train"] == sha256_file_of(tmp_path / "shipped" / "train.jsonl")


def sha256_file_of(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_short_or_linked_digest_key_is_refused(tmp_path, finegate_home):
    from finegate.harness.core import InputError
    from finegate.train._digests import digest_key, key_path

    first = digest_key()
    assert len(first) == 32 and digest_key() == first  # made once, then read back
    key_path().write_text("")  # half-written, or emptied: never an empty (public) key
    with pytest.raises(InputError, match="not 32 bytes"):
        digest_key()
    key_path().unlink()
    planted = tmp_path / "known.key"
    planted.write_text("00" * 32)
    planted.chmod(0o600)
    key_path().symlink_to(planted)  # a key someone else knows
    with pytest.raises(InputError, match="not a regular file"):
        digest_key()
