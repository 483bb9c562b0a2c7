"""Assets: installed whole from a folder or an archive, with a manifest of SHA-256s,
checked on every load; a failed download says how to import instead.

The detoxify checkpoints here are tiny random BERTs in detoxify's format, built by
``make_detoxify_bundle`` in test_toxicity.py."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest
from click.testing import CliRunner

from finegate.harness.cli import cli
from finegate.harness.core import InputError
from finegate.harness.safety import (
    DETOXIFY_VARIANTS,
    AssetError,
    DetoxifyVariant,
    asset_dir,
    install_detoxify,
    pull_detoxify,
    verified_detoxify,
)

from .test_toxicity import make_detoxify_bundle


def test_import_from_an_archive_writes_a_manifest_and_points_detoxify_at_the_local_folder(
    tmp_path, finegate_home
):
    import torch

    bundle = make_detoxify_bundle(tmp_path / "bundle")
    archive = tmp_path / "detoxify-original.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname="detoxify-original")
    folder = install_detoxify(archive, "unbiased")
    assert folder == finegate_home / "assets" / "detoxify" / "unbiased"
    manifest = json.loads((folder / "manifest.json").read_text())
    original = hashlib.sha256((bundle / "toxic_tiny.ckpt").read_bytes()).hexdigest()
    assert manifest["source_sha256"] == original
    assert manifest["base_model"] == "bert-base-uncased"
    assert (
        set(manifest["files"])
        == {
            "checkpoint.ckpt",
            "hf/config.json",
            "hf/vocab.txt",
            "hf/tokenizer_config.json",
            "hf/special_tokens_map.json",
        }
        or "hf/tokenizer.json" in manifest["files"]
    )
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    ckpt = torch.load(folder / "checkpoint.ckpt", weights_only=False)
    assert ckpt["config"]["arch"]["args"]["model_type"] == str(folder / "hf")
    config = json.loads((folder / "hf" / "config.json").read_text())
    assert len(config["id2label"]) == 6  # the head's size, as detoxify needs it offline
    checkpoint, hf_dir, _ = verified_detoxify("unbiased")
    assert (checkpoint, hf_dir) == (folder / "checkpoint.ckpt", folder / "hf")
    listed = CliRunner().invoke(cli, ["assets", "list", "--json"])
    assert listed.exit_code == 0
    (item,) = json.loads(listed.output)
    assert (item["name"], item["variant"], item["source_sha256"]) == (
        "detoxify",
        "unbiased",
        original,
    )


def test_a_changed_file_is_refused(tmp_path):
    install_detoxify(make_detoxify_bundle(tmp_path / "bundle"), "original")
    vocab = asset_dir("detoxify", "original") / "hf" / "vocab.txt"
    vocab.write_text(vocab.read_text() + "extra\n")
    with pytest.raises(AssetError, match="changed since it was installed"):
        verified_detoxify("original")


def test_a_bad_bundle_reports_every_problem_and_installs_nothing(tmp_path):
    import torch

    bundle = make_detoxify_bundle(tmp_path / "bundle")
    for name in ("vocab.txt", "tokenizer.json", "config.json"):
        (bundle / name).unlink()
    torch.save(
        {"config": {"arch": {"args": {"model_name": "BertForSequenceClassification"}}}},
        bundle / "toxic_tiny.ckpt",
    )
    with pytest.raises(InputError) as err:
        install_detoxify(bundle, "original")
    text = str(err.value)
    assert "expected exactly one config.json" in text
    assert "no tokenizer files" in text
    ckpt = str(bundle / "toxic_tiny.ckpt")
    assert f"{ckpt}: state_dict: required key is missing" in text
    assert f"{ckpt}: config.arch.args.model_type: required key is missing" in text
    assert f"{ckpt}: config.dataset.args.classes: required list is missing" in text
    assert not asset_dir("detoxify", "original").exists()
    with pytest.raises(InputError, match="a checkpoint alone is not enough"):
        install_detoxify(bundle / "toxic_tiny.ckpt", "original")


def test_pull_without_network_fails_with_the_import_route(monkeypatch):
    # a port nothing listens on: the download fails at once, as it does offline
    monkeypatch.setitem(
        DETOXIFY_VARIANTS,
        "original",
        DetoxifyVariant("original", "http://127.0.0.1:9/toxic_original.ckpt", "bert-base-uncased"),
    )
    result = CliRunner().invoke(cli, ["assets", "pull", "detoxify"])
    assert result.exit_code == 2
    assert "could not download detoxify's 'original' weights (ConnectError" in result.output
    assert "finegate assets import detoxify FOLDER --variant original" in result.output
    with pytest.raises(AssetError):
        pull_detoxify("original")
    assert not asset_dir("detoxify", "original").exists()


def test_unknown_variant_and_missing_asset_are_clear():
    with pytest.raises(InputError, match="unknown detoxify variant 'tiny'"):
        verified_detoxify("tiny")
    with pytest.raises(AssetError, match="weights are not installed") as err:
        verified_detoxify("multilingual")
    assert "finegate assets pull detoxify --variant multilingual" in str(err.value)
