"""Shared fixtures: an isolated finegate home and real tiny models built from configs.

The tiny models are real transformers models (2 layers, hidden 64) with random
weights and the byte-level ByT5 tokenizer, which needs no files: they exercise
every code path of a real model in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

pytest_plugins = ["pytester"]

CHATML = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(autouse=True)
def finegate_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets its own store and digest cache; embedded models are shared."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("FINEGATE_HOME", str(home))
    monkeypatch.delenv("FINEGATE_STORE", raising=False)
    shared_models = Path(
        os.environ.get("FINEGATE_TEST_MODELS", Path.home() / ".cache" / "finegate" / "models")
    )
    shared_models.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(shared_models, target_is_directory=True)
    return home


def _save_tiny(path: Path, arch: str, seed: int, chat: bool) -> Path:
    import torch
    from transformers import (
        ByT5Tokenizer,
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
    )

    torch.manual_seed(seed)
    tok = ByT5Tokenizer()
    if chat:
        tok.chat_template = CHATML
    if arch == "llama":
        config = LlamaConfig(
            vocab_size=384,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=None,
            tie_word_embeddings=False,
        )
        model = LlamaForCausalLM(config)
    else:
        config = GPT2Config(
            vocab_size=384,
            n_embd=64,
            n_layer=2,
            n_head=4,
            n_positions=512,
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=1,
        )
        model = GPT2LMHeadModel(config)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 1
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole session, stopped at its end."""
    from tests.servers import PostgresServer

    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_session(postgres):
    """A real MLflow tracking server for the whole session, on PostgreSQL."""
    from tests.servers import MlflowServer

    server = MlflowServer.start(postgres.new_database())
    yield server
    server.stop()


@pytest.fixture()
def mlflow_server(mlflow_session):
    """The session's MLflow server with an empty model registry."""
    mlflow_session.clear()
    return mlflow_session


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store on each backend: a SQLite file, or a fresh database on
    the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "fg.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny(tmp_path_factory.mktemp("tiny-llama"), "llama", 0, chat=False)


@pytest.fixture(scope="session")
def tiny_chat_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny(tmp_path_factory.mktemp("tiny-chat-llama"), "llama", 1, chat=True)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny(tmp_path_factory.mktemp("tiny-gpt2"), "gpt2", 2, chat=False)
