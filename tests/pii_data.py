"""Training data with PII planted in it, shared by the census and the gate tests."""

from __future__ import annotations

import json
from pathlib import Path

PHONE, EMAIL, SSN = "+1 415 555 0134", "maria.lopez@example.com", "536-22-8471"
CARD = "4111 1111 1111 1111"


def write_pii_training_data(path: Path) -> Path:
    """Five examples in four formats; four hold five PII values between them."""
    rows = [
        {"prompt": "Who is the contact?", "completion": f"Maria Lopez, {EMAIL}, {PHONE}."},
        {"instruction": "Card on file?", "output": f"The card is {CARD}."},
        {"messages": [{"role": "user", "content": "SSN?"}, {"role": "assistant", "content": SSN}]},
        {"prompt": "Weather?", "completion": "Sunny with a light breeze."},
        {"prompt": "Again?", "completion": f"Still {EMAIL}."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
