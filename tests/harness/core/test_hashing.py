import hashlib
import json
import os

from finegate.harness.core import canonical_json, sha256_file, sha256_files, sha256_json


def test_canonical_json_ignores_key_order():
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == '{"a":[1,{"c":3,"d":2}],"b":1}'
    assert sha256_json({"x": 1, "y": 2}) == sha256_json({"y": 2, "x": 1})
    assert sha256_json({"x": "é"}) == hashlib.sha256('{"x":"é"}'.encode()).hexdigest()


def test_file_digest_is_the_sha256_and_is_memoised(tmp_path, finegate_home):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"abc" * 1000)
    expected = hashlib.sha256(b"abc" * 1000).hexdigest()
    assert sha256_file(path) == expected
    memo = json.loads((finegate_home / "file-digests.json").read_text())
    assert memo[str(path.resolve())]["sha256"] == expected
    # a changed file (new size and mtime) is hashed again, not served from the memo
    path.write_bytes(b"abcd" * 1000)
    os.utime(path, ns=(1, 1))
    assert sha256_file(path) == hashlib.sha256(b"abcd" * 1000).hexdigest()


def test_folder_digest_is_independent_of_location(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.bin").write_bytes(b"1")
        (tmp_path / folder / "y.bin").write_bytes(b"2")
    a = sha256_files(list((tmp_path / "a").iterdir()), tmp_path / "a")
    b = sha256_files(list((tmp_path / "b").iterdir()), tmp_path / "b")
    assert a == b
    (tmp_path / "b" / "y.bin").write_bytes(b"3")
    assert sha256_files(list((tmp_path / "b").iterdir()), tmp_path / "b") != a
