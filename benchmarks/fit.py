"""Straight lines through the cost curves: least-squares slope, how well it fits, and where the growth bends."""
import dataclasses

# Where the slope between two neighbouring sizes differs from the one before it by more than this factor, the
# curve bends (a linear curve's noise on a loaded 2-core machine stays inside it at full scale).
BEND = 1.5
# A segment whose rise (or fall) is under this share of the curve's whole range is noise: it takes no part.
FLOOR = 0.1


@dataclasses.dataclass(frozen=True)
class Line:
    """``y = slope * x + intercept`` through the points ``xs``, ``ys``; ``r2`` its coefficient of determination; ``segments`` the
    slope between each pair of neighbouring points."""

    slope: float
    intercept: float
    r2: float
    xs: list[float]
    ys: list[float]
    segments: list[float]

    def _spans(self) -> list[tuple[float, float, float]]:
        """``(from x, to x, slope)`` of each segment that rises or falls by more than FLOOR of the whole range."""
        spread = max(self.ys) - min(self.ys)
        return [(x0, x1, segment) for x0, x1, y0, y1, segment in zip(self.xs, self.xs[1:], self.ys, self.ys[1:], self.segments)
                if abs(y1 - y0) > FLOOR * spread]

    def falls(self) -> list[tuple[float, float]]:
        """The segments over which the measure went down (beyond noise)."""
        return [(low, high) for low, high, segment in self._spans() if segment < 0]

    def bends(self) -> list[tuple[float, float, float]]:
        """``(from x, to x, its slope / the slope of the segment before)`` where that factor is over BEND or under
        1/BEND, between neighbouring segments that both rise beyond noise."""
        rising = [(low, high, segment) for low, high, segment in self._spans() if segment > 0]
        return [(low, high, segment / before) for (_x0, end, before), (low, high, segment) in zip(rising, rising[1:])
                if end == low and not 1 / BEND <= segment / before <= BEND]


def least_squares(xs: list[float], ys: list[float]) -> Line:
    """The least-squares line through the points (at least two distinct xs)."""
    count = len(xs)
    mean_x, mean_y = sum(xs) / count, sum(ys) / count
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - slope * x - intercept) ** 2 for x, y in zip(xs, ys))
    r2 = 1 - residual / total if total else 1.0
    segments = [(y1 - y0) / (x1 - x0) for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])]
    return Line(slope, intercept, r2, list(xs), list(ys), segments)
