"""How the page writes figures and tables."""
import math

from .compare import Samples


def seconds(value: float) -> str:
    """``1.23 s`` (``n/a`` when not measured; no ``-0.00``)."""
    return "n/a" if math.isnan(value) else f"{round(value, 2) + 0.0:.2f} s"


def millis(value: float) -> str:
    """Seconds as ``12.3 ms``."""
    return "n/a" if math.isnan(value) else f"{value * 1000:.1f} ms"


def ratio(value: float, reference: float) -> str:
    """``value / reference`` as ``1.23x``."""
    return "n/a" if reference <= 0 or math.isnan(value) or math.isnan(reference) else f"{value / reference:.2f}x"


def kilobytes(value: float) -> str:
    """Bytes as ``1.2 KB``."""
    return f"{value / 1000:.1f} KB"


def spread(samples: Samples, key: str) -> str:
    """Smallest to largest of ``key`` in seconds."""
    low, high = samples.spread(key)
    return f"{low:.1f}-{high:.1f} s"


def repetitions(count: int) -> str:
    """``3 repetitions`` / ``1 repetition``."""
    return f"{count} repetition{'' if count == 1 else 's'}"


def medians(count: int) -> str:
    """``medians of 3 repetitions`` / ``one run``."""
    return f"medians of {repetitions(count)}" if count > 1 else "one run"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table and the blank line after it."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def verdict(met: bool, reason: str = "") -> str:
    """``met``, or ``missed`` with why."""
    return "met" if met else f"missed: {reason}" if reason else "missed"


# The page's numbered sections (a part that did not run leaves its number out); the hand-written findings are 7th.
FINDINGS_SECTION = "section 7"


def calls_text(calls: dict[str, int]) -> str:
    """Engine API calls as ``GET /info x1, ...`` (``none`` when there were none)."""
    return ", ".join(f"{call} x{count}" for call, count in sorted(calls.items())) or "none"
