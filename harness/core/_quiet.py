"""Library noise a user cannot act on, filtered where each library speaks.

finegate's output is progress and results. These messages are neither, and
nothing a user does removes them:

- bitsandbytes, imported on a CPU with AVX512-BF16 instructions, looks for a
  hub kernel for its 4-bit matrix products; offline it logs a warning and uses
  its own CPU path (the one finegate runs and measures), even for a plain LoRA
  run that never quantises anything;
- presidio, building its English analyzer, logs a warning for every recognizer
  of another language in its default configuration that it leaves out (eleven
  lines per scanner);
- opacus' RDP accountant warns when the best order lies at the end of its range
  of orders, although epsilon is still a valid (if looser) bound, and only the
  ``rdp`` accountant the recipe names decides which orders it tries;
- opacus reminds, on every private run, that its secure random generator is
  off; in finegate that is the recipe's ``config.secure_mode``, documented with
  the recipe and recorded in every DP training manifest (``dp.secure_mode``),
  where a reviewer reads it;
- peft asks every model whether it is ``is_gradient_checkpointing`` when it
  wraps it, and transformers answers with a deprecation warning on each adapter
  attached or trained (the attribute's replacement is transformers' and peft's
  business, not the user's);
- torch warns that a full backward hook fires with respect to module outputs
  when no input requires a gradient, which is every LoRA on a frozen base
  under opacus; the per-example gradients are right (tested against autograd).

Each filter matches one message, not a category, so any other warning of these
libraries still reaches the user.
"""

from __future__ import annotations

import logging
import warnings

_LOGGING_QUIET = False


def _not_a_hub_kernel_lookup(record: logging.LogRecord) -> bool:
    return "kernels-community" not in record.getMessage()


def _not_another_language(record: logging.LogRecord) -> bool:
    return "because language is not supported by registry" not in record.getMessage()


def quiet_library_noise() -> None:
    """Install the filters; called where these libraries load.

    The logging filters go in once per process. The warning filters go in on
    every call: ``warnings.catch_warnings`` (pytest wraps every test in one, and
    so may a host application) restores the filter list on exit, and adding a
    filter that is already there only moves it to the front.
    """
    global _LOGGING_QUIET
    if not _LOGGING_QUIET:
        _LOGGING_QUIET = True
        logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_not_a_hub_kernel_lookup)
        logging.getLogger("presidio-analyzer").addFilter(_not_another_language)
    warnings.filterwarnings(
        "ignore",
        message=r"Optimal order is the (largest|smallest) alpha",
        category=UserWarning,
        module=r"opacus\.",
    )
    warnings.filterwarnings(
        "ignore", message=r"Secure RNG turned off", category=UserWarning, module=r"opacus\."
    )
    warnings.filterwarnings(
        "ignore",
        message=r"`is_gradient_checkpointing` is deprecated",
        category=FutureWarning,
    )
    warnings.filterwarnings(
        "ignore",
        message=r"Full backward hook is firing when gradients are computed with respect to "
        r"module outputs since no inputs require gradients",
        category=UserWarning,
    )
