"""Bradley–Terry strengths from pairwise preferences, with ties (Davidson 1970).

Each response source i has a strength π_i > 0. In a comparison of i and j,

    P(i preferred) = π_i / D,   P(tie) = ν √(π_i π_j) / D,   D = π_i + π_j + ν √(π_i π_j)

(Davidson, "On extending the Bradley-Terry model to accommodate ties in paired comparison
experiments", JASA 65, 1970). The maximum-likelihood strengths are found with the
fixed-point updates that set the likelihood's derivatives to zero (Hunter, "MM algorithms
for generalized Bradley-Terry models", Annals of Statistics 32, 2004):

    π_i ← (2 W_i + T_i) / Σ_j n_ij (2 + ν √(π_j / π_i)) / D_ij
    ν   ← T / Σ_{i<j} n_ij √(π_i π_j) / D_ij

with W_i the wins of i, T_i its ties, T all ties, n_ij the comparisons of i and j; strengths
are reported as shares (π_i / Σ π). Intervals are percentile bootstrap intervals over the
comparisons, resampled with a fixed seed so a summary reads the same twice.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

Outcome = tuple[str, str, str]  # (first, second, "first" | "second" | "tie"), first < second
BOOTSTRAP = 400
SEED = 0


@dataclass(frozen=True)
class Fit:
    shares: dict[str, float]  # π_i / Σ π
    tie_parameter: float  # ν (0 without ties)
    converged: bool


def fit(outcomes: Sequence[Outcome], iterations: int = 2_000, tolerance: float = 1e-12) -> Fit:
    counts = Counter(outcomes)
    sources = sorted({s for first, second, _ in counts for s in (first, second)})
    wins = Counter[str]()
    ties = Counter[str]()
    pairs: Counter[tuple[str, str]] = Counter()
    for (first, second, result), count in counts.items():
        pairs[(first, second)] += count
        if result == "tie":
            ties[first] += count
            ties[second] += count
        else:
            wins[first if result == "first" else second] += count
    total_ties = sum(c for (_, _, r), c in counts.items() if r == "tie")
    strength = dict.fromkeys(sources, 1.0)
    nu = 1.0 if total_ties else 0.0
    converged = False
    for _ in range(iterations):
        before = dict(strength)
        for source in sources:
            denominator = 0.0
            for (first, second), n in pairs.items():
                if source not in (first, second):
                    continue
                other = second if source == first else first
                root = math.sqrt(strength[source] * strength[other])
                d = strength[source] + strength[other] + nu * root
                denominator += n * (2 + nu * math.sqrt(strength[other] / strength[source])) / d
            numerator = 2 * wins[source] + ties[source]
            # A source that never wins or ties has no finite strength: keep it tiny, not 0.
            strength[source] = max(numerator, 1e-9) / denominator if denominator else 1.0
        scale = math.exp(sum(math.log(v) for v in strength.values()) / len(strength))
        strength = {k: v / scale for k, v in strength.items()}
        if total_ties:
            spread = sum(n * math.sqrt(strength[a] * strength[b])
                         / (strength[a] + strength[b] + nu * math.sqrt(strength[a] * strength[b]))
                         for (a, b), n in pairs.items())
            nu = total_ties / spread
        if max(abs(math.log(strength[k] / before[k])) for k in sources) < tolerance:
            converged = True
            break
    total = sum(strength.values())
    return Fit({k: v / total for k, v in strength.items()}, nu, converged)


def bootstrap(outcomes: Sequence[Outcome], rounds: int = BOOTSTRAP, seed: int = SEED
              ) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of each source's share, over ``rounds`` resamples."""
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(rounds):
        sample = rng.choices(outcomes, k=len(outcomes))
        for source, share in fit(sample, iterations=300, tolerance=1e-9).shares.items():
            draws.setdefault(source, []).append(share)
    intervals = {}
    for source, values in draws.items():
        values.sort()
        low = values[int(0.025 * (len(values) - 1))]
        high = values[math.ceil(0.975 * (len(values) - 1))]
        intervals[source] = (low, high)
    return intervals


def no_fit(outcomes: Sequence[Outcome]) -> list[str]:
    """Why the maximum-likelihood strengths do not exist (empty when they do): a source that
    never wins (or ties) has strength 0, one that never loses (or ties) an infinite one."""
    won: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for first, second, result in outcomes:
        if result == "tie":
            for source in (first, second):
                won[source] += 1
                lost[source] += 1
        else:
            winner, loser = (first, second) if result == "first" else (second, first)
            won[winner] += 1
            lost[loser] += 1
    sources = sorted(set(won) | set(lost))
    return ([f"{s} never wins" for s in sources if not won[s]]
            + [f"{s} never loses" for s in sources if not lost[s]])
