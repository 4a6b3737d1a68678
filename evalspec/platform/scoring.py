"""What the local platform's tasks produce: synthetic answers whose quality depends on the model,
metrics computed for real on them, and judges that see the difference.

Everything is a pure function of the emulator's seed, the model, the row and the task, never of
an evaluation's id, so a sweep applied twice gives the same scores:

- Each model has a quality in [0, 1]: ``--model-quality PATTERN=Q`` (first match wins), else one
  derived from a hash of the model's name (between 0.3 and 0.9).
- A ``chat_completion`` (or ``inference``) answer echoes the row's reference answer (a column
  named ``reference``, ``expected`` or ``ideal``) with that probability; otherwise it keeps only
  some of the reference's words, so metrics vary smoothly with quality.
- ``metric`` tasks score candidate against reference (item locators) with the metric named.
- ``auto_evaluation.guided_decoding`` with ``choices`` picks the first choice when the answers it
  reads echo the reference, the last when they do not, with some noise; with a
  ``response_format`` it answers ``{"verdict": ...}``; ``auto_evaluation.question`` answers
  ``yes`` or ``no`` the same way.

The metrics, on lowercase word tokens (``\\w+``):

- ``rouge1``/``rouge2``: F1 of the n-gram overlap; ``rougeL``: F1 of the longest common
  subsequence (Lin 2004).
- ``bleu``: sentence BLEU-4, geometric mean of clipped n-gram precisions with add-one
  smoothing for n > 1 (Lin & Och 2004; NLTK's ``SmoothingFunction().method2``), times the
  brevity penalty (Papineni et al. 2002).
- ``f1``: token F1 after removing punctuation and the articles a/an/the (as SQuAD does).
- ``meteor``: METEOR with exact matches only (no stemming or synonyms): harmonic mean
  10PR/(R+9P) times 1 - 0.5 (chunks/matches)^3 (Lavie & Agarwal 2007), words aligned as
  NLTK's ``meteor_score`` aligns exact matches (from the end of the candidate, so a repeated
  word can cost a chunk the fewest-chunks alignment of the paper would not).
- ``cosine_similarity``: cosine of term-count vectors (the platform uses embeddings; counts are
  the emulator's stand-in).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from evalspec.spec.aliases import task_alias

REFERENCE_COLUMNS = ("reference", "expected", "ideal")
_WORD = re.compile(r"\w+")
_ARTICLES = frozenset(("a", "an", "the"))


# -- the metrics ------------------------------------------------------------------------------
def tokens(text: Any) -> list[str]:
    return _WORD.findall(str(text if text is not None else "").lower())


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _f1(overlap: float, candidate: int, reference: int) -> float:
    if overlap == 0 or candidate == 0 or reference == 0:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: str, reference: str, n: int) -> float:
    c, r = _ngrams(tokens(candidate), n), _ngrams(tokens(reference), n)
    return _f1(sum((c & r).values()), sum(c.values()), sum(r.values()))


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    c, r = tokens(candidate), tokens(reference)
    return _f1(_lcs(c, r), len(c), len(r))


def bleu(candidate: str, reference: str) -> float:
    c, r = tokens(candidate), tokens(reference)
    if not c or not r:
        return 0.0
    logs = []
    for n in range(1, 5):
        cand, ref = _ngrams(c, n), _ngrams(r, n)
        # A candidate too short to have n-grams counts one (as NLTK does): add-one smoothing
        # over zero n-grams would otherwise score a perfect 1 and reward short answers.
        matches, total = sum((cand & ref).values()), max(sum(cand.values()), 1)
        if n == 1:
            if matches == 0:
                return 0.0
            logs.append(math.log(matches / total))
        else:
            logs.append(math.log((matches + 1) / (total + 1)))
    brevity = 1.0 if len(c) > len(r) else math.exp(1 - len(r) / len(c))
    return brevity * math.exp(sum(logs) / 4)


def token_f1(candidate: str, reference: str) -> float:
    c = [w for w in tokens(candidate) if w not in _ARTICLES]
    r = [w for w in tokens(reference) if w not in _ARTICLES]
    return _f1(sum((Counter(c) & Counter(r)).values()), len(c), len(r))


def meteor(candidate: str, reference: str) -> float:
    c, r = tokens(candidate), tokens(reference)
    used = [False] * len(r)
    alignment: list[tuple[int, int]] = []
    # Exact matches as NLTK aligns them: candidate words from the last, each with the last
    # unused equal reference word; then in candidate order for the chunks.
    for i in range(len(c) - 1, -1, -1):
        for j in range(len(r) - 1, -1, -1):
            if not used[j] and r[j] == c[i]:
                used[j] = True
                alignment.append((i, j))
                break
    alignment.sort()
    matches = len(alignment)
    if matches == 0:
        return 0.0
    precision, recall = matches / len(c), matches / len(r)
    fmean = 10 * precision * recall / (recall + 9 * precision)
    chunks = 1 + sum(1 for (i1, j1), (i2, j2) in zip(alignment, alignment[1:], strict=False)
                     if not (i2 == i1 + 1 and j2 == j1 + 1))
    return fmean * (1 - 0.5 * (chunks / matches) ** 3)


def cosine(candidate: str, reference: str) -> float:
    c, r = Counter(tokens(candidate)), Counter(tokens(reference))
    dot = sum(c[w] * r[w] for w in c)
    norm = math.sqrt(sum(v * v for v in c.values())) * math.sqrt(sum(v * v for v in r.values()))
    return dot / norm if norm else 0.0


METRICS: dict[str, Callable[[str, str], float]] = {
    "rouge1": lambda c, r: rouge_n(c, r, 1), "rouge2": lambda c, r: rouge_n(c, r, 2),
    "rougeL": rouge_l, "bleu": bleu, "f1": token_f1, "meteor": meteor,
    "cosine_similarity": cosine,
}


# -- synthetic answers and judges --------------------------------------------------------------
QUALITY_ENV = "EVALSPEC_LOCAL_MODEL_QUALITY"  # for --endpoint local: "openai/*=0.8,*mini=0.4"


def parse_qualities(pairs: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """``PATTERN=Q`` pairs (Q from 0 to 1); raises ValueError naming the bad one."""
    qualities = []
    for pair in pairs:
        pattern, sep, text = pair.strip().rpartition("=")
        try:
            quality = float(text)
        except ValueError:
            quality = -1.0
        if not sep or not pattern or not 0 <= quality <= 1:
            raise ValueError(f"{pair!r}: expected PATTERN=Q with Q from 0 to 1, for example "
                             "'openai/*=0.8'")
        qualities.append((pattern, quality))
    return tuple(qualities)



def model_quality(model: str, overrides: Sequence[tuple[str, float]]) -> float:
    for pattern, quality in overrides:
        if fnmatchcase(model, pattern):
            return quality
    digest = int(hashlib.sha256(model.encode()).hexdigest()[:8], 16)
    return round(0.3 + 0.6 * digest / 0xFFFFFFFF, 3)


def _rng(seed: int, *parts: Any) -> random.Random:
    text = ":".join(str(p) for p in (seed, *parts))
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))


def _locate(data: Mapping[str, Any], locator: Any) -> Any:
    if not isinstance(locator, str) or not locator.startswith("item."):
        return locator
    value: Any = data
    for part in locator.split(".")[1:]:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _reference(row: Mapping[str, Any]) -> str | None:
    for column in REFERENCE_COLUMNS:
        if isinstance(row.get(column), str):
            return str(row[column])
    return None


class Scorer:
    """Runs an evaluation's tasks over one row, in order, each seeing the earlier outputs."""

    def __init__(self, seed: int, overrides: Sequence[tuple[str, float]]) -> None:
        self.seed = seed
        self.overrides = overrides

    def answer(self, model: str, row: Mapping[str, Any], index: int, alias: str) -> str:
        rng = _rng(self.seed, "answer", model, index, alias)
        reference = _reference(row)
        if reference is None:
            digest = hashlib.sha256(f"{self.seed}:{model}:{index}:{alias}".encode()).hexdigest()
            return f"[{model}] synthetic output {digest[:12]}"
        if rng.random() < model_quality(model, self.overrides):
            return reference
        words = reference.split()
        kept = [w for w in words if rng.random() < 0.35]
        return " ".join(kept + ["(unsure)"])

    def _correct(self, data: Mapping[str, Any], answers: Sequence[str]) -> float:
        reference = _reference(data)
        if reference is None or not answers:
            return 0.5
        return sum(1 for a in answers if data.get(a) == reference) / len(answers)

    def judge(self, config: Mapping[str, Any], data: Mapping[str, Any], answers: Sequence[str],
              index: int, alias: str) -> Any:
        rng = _rng(self.seed, "judge", index, alias, *(str(data.get(a)) for a in answers))
        good = rng.random() < 0.1 + 0.8 * self._correct(data, answers)
        choices = config.get("choices")
        if isinstance(choices, list) and choices:
            if good:
                return choices[0]
            return choices[-1] if rng.random() < 0.75 or len(choices) < 3 else choices[
                rng.randrange(1, len(choices) - 1)]
        verdict = "yes" if good else "no"
        return {"verdict": verdict} if "response_format" in config else verdict

    def outputs(self, tasks: Sequence[dict[str, Any]], row: Mapping[str, Any],
                index: int, skip: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The row with each executed task's output under its alias."""
        data = dict(row)
        answers: list[str] = []
        for task in tasks:
            if skip(task):
                continue
            alias, kind = task_alias(task), task["task_type"]
            config = task.get("configuration") or {}
            if kind in ("chat_completion", "inference"):
                data[alias] = self.answer(str(config.get("model", kind)), row, index, alias)
                answers.append(alias)
            elif kind == "metric" and config.get("type") in METRICS:
                candidate = _locate(data, config.get("candidate"))
                reference = _locate(data, config.get("reference"))
                score = METRICS[config["type"]](str(candidate or ""), str(reference or ""))
                data[alias] = round(score, 6)
            elif kind in ("auto_evaluation.guided_decoding", "auto_evaluation.question"):
                data[alias] = self.judge(config, data, answers, index, alias)
            else:
                digest = hashlib.sha256(f"{self.seed}:{index}:{alias}".encode()).hexdigest()
                data[alias] = f"[{kind}] synthetic output {digest[:12]}"
        return data
