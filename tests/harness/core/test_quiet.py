"""Noise filters drop exactly the messages they name, from the real libraries,
and let the libraries' other warnings through."""

from __future__ import annotations

import logging
import warnings

import pytest

from finegate.harness.core import _quiet


@pytest.fixture
def quiet() -> None:
    _quiet.quiet_library_noise()


def test_the_offline_hub_kernel_lookup_is_dropped(quiet: None, caplog) -> None:
    log = logging.getLogger("bitsandbytes.backends.cpu.ops")
    with caplog.at_level(logging.WARNING):
        log.warning(
            "Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure "
            "you already `pip install kernels` and the kernels >= 0.11.1",
            "offline",
        )
        log.warning("a real problem with the CPU backend")
    assert [r.getMessage() for r in caplog.records] == ["a real problem with the CPU backend"]


def test_opacus_rdp_order_warning_is_dropped(quiet: None) -> None:
    from opacus.accountants.analysis.rdp import get_privacy_spent

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        _quiet.quiet_library_noise()  # again inside: catch_warnings restores the list on exit
        eps, order = get_privacy_spent(orders=[2.0, 3.0], rdp=[0.5, 0.6], delta=1e-5)
        warnings.warn("another opacus warning", UserWarning, stacklevel=1)
    assert order == 3.0 and eps > 0  # the optimum sits at the largest order: opacus warns
    assert [str(w.message) for w in seen] == ["another opacus warning"]


def test_the_warning_is_real_without_the_filter() -> None:
    """The filter is what removes it: opacus does warn here."""
    from opacus.accountants.analysis.rdp import get_privacy_spent

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        get_privacy_spent(orders=[2.0, 3.0], rdp=[0.5, 0.6], delta=1e-5)
    assert any("Optimal order is the largest alpha" in str(w.message) for w in seen)


def test_the_gradient_checkpointing_deprecation_is_dropped(quiet: None, tiny_llama) -> None:
    """transformers warns whenever ``is_gradient_checkpointing`` is read, and
    peft up to 0.21 reads it in ``get_peft_model``: the probe a user cannot act on."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)

    def probe() -> list[str]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            if quieted:
                _quiet.quiet_library_noise()
            getattr(model, "is_gradient_checkpointing", True)
        return [str(w.message) for w in seen if "is_gradient_checkpointing" in str(w.message)]

    quieted = False
    assert probe()  # transformers does warn
    quieted = True
    assert probe() == []
