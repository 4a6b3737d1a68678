"""The local platform's scores: metrics with known values, answers that follow model quality,
everything reproducible from the seed."""

from __future__ import annotations

import math

import pytest

from evalspec.platform.scoring import METRICS, Scorer, model_quality, parse_qualities
from tests.test_plan_apply import ENV, apply

C, R = "the cat sat", "the cat sat on the mat"


@pytest.mark.parametrize("metric, expected", [
    ("rouge1", 2 * 1 * 0.5 / 1.5),             # 3 of 3 candidate words, 3 of 6 reference words
    ("rouge2", 2 * 1 * 0.4 / 1.4),             # 2 of 2 bigrams, 2 of 5
    ("rougeL", 2 * 1 * 0.5 / 1.5),             # LCS 3
    ("f1", 2 * 1 * 0.5 / 1.5),                 # articles dropped: cat sat / cat sat on mat
    ("cosine_similarity", 4 / (math.sqrt(3) * math.sqrt(8))),  # the 1x2 + cat + sat
    # no 4-gram in 3 words: counted as one, unmatched (add-one: 1/2, as NLTK's method2)
    ("bleu", math.exp(1 - 6 / 3) * math.exp((math.log(1) + math.log(3 / 3) + math.log(2 / 2)
                                             + math.log(1 / 2)) / 4)),
    # 3 matches; NLTK aligns "the" with the reference's last "the": 2 chunks, not 1
    ("meteor", (10 * 1 * 0.5 / (0.5 + 9 * 1)) * (1 - 0.5 * (2 / 3) ** 3)),
])
def test_metric_values(metric: str, expected: float) -> None:
    assert METRICS[metric](C, R) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_identical_and_disjoint_texts(metric: str) -> None:
    assert METRICS[metric](R, R) == pytest.approx(1.0, abs=0.01)  # METEOR's penalty: 0.9977
    assert METRICS[metric]("alpha beta", "gamma delta") == 0.0
    assert METRICS[metric]("", R) == 0.0


def test_model_quality_overrides_and_the_derived_default() -> None:
    overrides = parse_qualities(["openai/gpt-4o=0.9", "*mini=0.4"])
    assert model_quality("openai/gpt-4o", overrides) == 0.9
    assert model_quality("openai/gpt-4o-mini", overrides) == 0.4
    derived = model_quality("anthropic/claude-3-5-sonnet", overrides)
    assert 0.3 <= derived <= 0.9 and derived == model_quality("anthropic/claude-3-5-sonnet", ())
    for bad in ("openai/*", "x=2", "=0.5", "x=high"):
        with pytest.raises(ValueError, match="expected PATTERN=Q"):
            parse_qualities([bad])


def test_answers_follow_quality_and_the_seed() -> None:
    tasks = [{"task_type": "chat_completion", "alias": "answer",
              "configuration": {"model": "m/good"}},
             {"task_type": "metric", "alias": "rouge", "configuration": {
                 "type": "rougeL", "candidate": "item.answer", "reference": "item.reference"}},
             {"task_type": "auto_evaluation.guided_decoding", "alias": "judge",
              "configuration": {"choices": ["right", "so-so", "wrong"]}}]
    rows = [{"reference": f"answer number {i} is here"} for i in range(400)]

    def mean_rouge(quality: float, seed: int = 0) -> tuple[float, list]:
        scorer = Scorer(seed, (("m/*", quality),))
        outputs = [scorer.outputs(tasks, row, i, lambda t: False) for i, row in enumerate(rows)]
        return sum(o["rouge"] for o in outputs) / len(outputs), outputs

    good, outputs = mean_rouge(0.9)
    bad, _ = mean_rouge(0.2)
    assert good > 0.9 and bad < 0.6
    exact = [o for o in outputs if o["answer"] == o["reference"]]
    assert 0.85 < len(exact) / len(rows) < 0.95 and all(o["rouge"] == 1.0 for o in exact)
    right = sum(1 for o in exact if o["judge"] == "right") / len(exact)
    assert 0.8 < right < 1.0
    assert mean_rouge(0.9)[1] == outputs  # the same seed, the same outputs
    assert mean_rouge(0.9, seed=1)[1] != outputs


def test_the_platform_scores_the_judge_sweep(workdir, tmp_path, run) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    qualities = (("openai/gpt-4o", 0.95), ("*mini", 0.5), ("anthropic/*", 0.1))
    server = start_background(Settings(db=tmp_path / "s.db", complete_after=0.1,
                                       model_quality=qualities))
    try:
        root = workdir("judge-sweep")
        assert apply(run, root, server.url).code == 0
        assert run("status", str(root), "--endpoint", server.url, "--watch", "--interval",
                   "0.05", env=ENV).code == 0
        result = run("results", "faq-judged", str(root), "--endpoint", server.url, env=ENV)
        import json

        rows = [json.loads(line) for line in result.out.splitlines()]
        means = {name: sum(r["evaluations"][name]["data"]["rouge"] for r in rows) / len(rows)
                 for name in rows[0]["evaluations"]}
        assert max(means, key=means.get) == "faq-openai-gpt-4o"
        assert min(means, key=means.get) == "faq-anthropic-claude-3-5-sonnet"
        item = rows[0]["evaluations"]["faq-openai-gpt-4o"]
        assert item["task_result_statuses"] == {"answer": "completed", "rouge": "completed",
                                                "judge": "completed"}
        assert item["data"]["judge"] in ("correct", "partly correct", "wrong")
    finally:
        server.stop()


def _pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """Random candidate and reference sentences over a small vocabulary (so n-grams repeat
    and overlap), from one word up: short candidates are where BLEU's smoothing matters."""
    import random

    words = "the cat sat on a mat with blue red green dog ran fast slow over under".split()
    rng = random.Random(seed)
    return [(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))),
             " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))))
            for _ in range(count)]


def test_rouge_matches_googles_rouge_score_on_many_pairs() -> None:
    rouge_score = pytest.importorskip("rouge_score.rouge_scorer")
    from evalspec.platform.scoring import METRICS

    scorer = rouge_score.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    for candidate, reference in _pairs(500, 1):
        expected = scorer.score(reference, candidate)
        for name in ("rouge1", "rouge2", "rougeL"):
            assert METRICS[name](candidate, reference) == pytest.approx(
                expected[name].fmeasure, abs=1e-12), (name, candidate, reference)


def test_bleu_matches_nltk_with_add_one_smoothing_on_many_pairs() -> None:
    """NLTK's sentence_bleu with SmoothingFunction().method2 (Lin & Och 2004): clipped
    counts, add-one for n > 1, one n-gram counted for a candidate too short to have any."""
    import warnings

    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    from evalspec.platform.scoring import bleu

    smoothing = nltk_bleu.SmoothingFunction().method2
    for candidate, reference in _pairs(1000, 2) + [("the", "the cat"), ("cat cat cat", "cat")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NLTK warns about zero counts it then smooths
            expected = nltk_bleu.sentence_bleu([reference.split()], candidate.split(),
                                               smoothing_function=smoothing)
        assert bleu(candidate, reference) == pytest.approx(expected, abs=1e-12), (
            candidate, reference)


def test_meteor_matches_nltk_with_exact_matches_only_on_many_pairs() -> None:
    """NLTK's meteor_score with its stemmer and WordNet replaced by ones that match nothing
    but the word itself (the emulator matches exact words only; no WordNet data is needed):
    the same alignment, fragmentation penalty and harmonic mean, repeated words included."""
    nltk_meteor = pytest.importorskip("nltk.translate.meteor_score")
    from evalspec.platform.scoring import meteor

    class Itself:
        def stem(self, word: str) -> str:
            return word

    class NoSynonyms:
        def synsets(self, word: str, *args: object, **kwargs: object) -> list:
            return []

    for candidate, reference in _pairs(2000, 3) + [("the", "the cat"), ("cat", "dog"),
                                                   ("a a a b", "b a a")]:
        expected = nltk_meteor.meteor_score([reference.split()], candidate.split(),
                                            stemmer=Itself(), wordnet=NoSynonyms())
        assert meteor(candidate, reference) == pytest.approx(expected, abs=1e-12), (
            candidate, reference)


def test_token_f1_is_squad_normalisation_then_unigram_overlap_f1() -> None:
    """Token F1 as the SQuAD evaluation script defines it (lowercase, punctuation and the
    articles a/an/the removed, then F1 of the clipped unigram overlap), with the overlap F1
    computed by Google's rouge-score (ROUGE-1's F-measure is that F1)."""
    import re
    import string

    rouge_score = pytest.importorskip("rouge_score.rouge_scorer")
    from evalspec.platform.scoring import token_f1

    scorer = rouge_score.RougeScorer(["rouge1"], use_stemmer=False)

    def normalise(text: str) -> str:  # the SQuAD v1.1 script's normalize_answer
        text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
        return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())

    pairs = _pairs(1000, 4) + [("The cat, the mat!", "a cat on an old mat"),
                               ("An answer.", "the ANSWER")]
    for candidate, reference in pairs:
        expected = scorer.score(normalise(reference), normalise(candidate))["rouge1"].fmeasure
        assert token_f1(candidate, reference) == pytest.approx(expected, abs=1e-12), (
            candidate, reference)
