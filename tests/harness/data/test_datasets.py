import json

import pytest

from finegate.harness import InputError
from finegate.harness.data import read_examples


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_the_three_formats_become_one_form(tmp_path):
    path = write(
        tmp_path / "d.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "S"},
                    {"role": "user", "content": "U"},
                    {"role": "assistant", "content": "A"},
                ],
                "source": "crm",
                "licence": "own",
            },
            {"instruction": "Translate", "input": "chat", "output": "cat"},
            {"prompt": "2+2=", "completion": "4"},
        ],
    )
    chat, alpaca, pc = read_examples(path)
    assert (chat.format, chat.prompt_text, chat.target_text) == ("chat", "S\nU", "A")
    assert chat.extra == {"source": "crm", "licence": "own"}
    assert alpaca.prompt_text == "Translate\n\nchat" and alpaca.target_text == "cat"
    assert (pc.prompt_text, pc.target_text, pc.line) == ("2+2=", "4", 3)


def test_every_bad_line_is_named(tmp_path):
    path = write(
        tmp_path / "d.jsonl",
        [
            {"messages": [{"role": "user", "content": "U"}]},
            {"instruction": "x"},
            "{broken",
            {"question": "?"},
            {
                "messages": [
                    {"role": "robot", "content": "x"},
                    {"role": "assistant", "content": "A"},
                ]
            },
        ],
    )
    with pytest.raises(InputError) as err:
        read_examples(path)
    lines = str(err.value).splitlines()
    assert f"{path}:1: messages: the last message must be the assistant's answer" in lines
    assert f"{path}:2: output: required field is missing" in lines
    assert any(line.startswith(f"{path}:3: invalid JSON") for line in lines)
    assert any(line.startswith(f"{path}:4: unknown format") for line in lines)
    assert any(line.startswith(f"{path}:5: messages[0]: needs a role") for line in lines)
