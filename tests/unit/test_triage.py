"""Triage suggestions learned from the seeded history (held out by time),
the numpy ranking against scikit-learn's own, model files, history files and
address normalisation. Pure: no PBX."""

from __future__ import annotations

import gzip
import json
import os
import stat
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hotline.config import TicketSettings
from hotline.tickets.categories import CategoryTree
from hotline.tickets.units import Units
from hotline.triage import history, train
from hotline.triage import model as tm
from hotline.triage.address import cn_number, normalise
from hotline.triage.features import Tokens

SETTINGS = TicketSettings()
UNITS = Units(SETTINGS)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    return Tokens(sorted(UNITS.place_names()), str(tmp_path_factory.mktemp("jieba")))


@pytest.fixture(scope="module")
def weeks(tokens: Tokens) -> dict[str, object]:
    rows = history.read()
    past = [r for r, w in rows if w <= 4]
    week5 = [r for r, w in rows if w == 5]
    said = [tokens(r.content) for r in past]
    model = train.fit(said, [tokens(r.address) for r in past], past, "t")
    return {"rows": rows, "past": past, "week5": week5, "said": said, "model": model}


def test_held_out_week_top3_accuracy_on_the_seeded_history(weeks: dict[str, object], tokens: Tokens) -> None:
    rows, past, week5, model = weeks["rows"], weeks["past"], weeks["week5"], weeks["model"]
    assert isinstance(model, tm.Model) and isinstance(week5, list) and isinstance(rows, list)
    tree = CategoryTree(SETTINGS)
    cats = Counter(r.category for r, _ in rows)
    # The data the issue asks for: 5,000+ tickets over 30+ of the city's categories.
    assert len(rows) >= 5000 and len(cats) >= 30 and all(tree.get(c) for c in cats)
    assert {w for _, w in rows} == {1, 2, 3, 4, 5} and max(r.at for r in past) < min(r.at for r in week5)
    got = train.accuracy(model, [tokens(r.content) for r in week5], [r.category for r in week5])
    majority = max(Counter(r.category for r in week5).values()) / len(week5)
    print(f"triage: week 5 held out ({got['n']} tickets): top-1 {got['top1']:.3f}, top-3 {got['top3']:.3f}")
    # The floor: one ticket in sixteen carries a hurried agent's random label
    # and one in eight of the confusable categories is told in the
    # neighbour's words (bench/triage_history.py), so no model reaches 1.0;
    # 0.85 is five points under what this one measures, and six times the
    # answer that guesses the commonest category.
    assert got["top3"] >= 0.85 and got["top1"] >= 0.70, got
    assert got["top1"] > 6 * majority


def test_the_ranking_is_scikit_learns_own(weeks: dict[str, object], tokens: Tokens) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    past, said, model = weeks["past"], weeks["said"], weeks["model"]
    assert isinstance(past, list) and isinstance(said, list) and isinstance(model, tm.Model)
    vec = TfidfVectorizer(analyzer=train._same, sublinear_tf=True, min_df=2)
    vec.fit([s + tokens(r.address) for s, r in zip(said, past)])
    lr = LogisticRegression(C=train.C, max_iter=2000).fit(vec.transform(said), [r.category for r in past])
    texts = [tokens(r.content) for r in weeks["week5"][:200]]  # type: ignore[index]
    want = lr.predict_proba(vec.transform(texts))
    for row, t in zip(want, texts):
        idx, val = model.features(t)
        assert np.allclose(model.category.probabilities(idx, val), row, atol=1e-9)


def test_model_files_round_trip_private_and_refuse_a_mismatch(weeks: dict[str, object], tmp_path: Path) -> None:
    model = weeks["model"]
    assert isinstance(model, tm.Model)
    tm.save(model, tmp_path / "v1")
    for name in (tm.ARRAYS, tm.META):
        assert stat.S_IMODE((tmp_path / "v1" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "v1").stat().st_mode) == 0o700
    back = tm.load(tmp_path / "v1")
    words = ["小区", "暖气", "不热", "暖气 不热"]
    assert back.categories(words) == model.categories(words)
    assert back.categories(words)[0][0] == "utility-heating"
    assert back.units(["物业", "电梯"])[0][0] == model.units(["物业", "电梯"])[0][0]
    # No digit-bearing word (house or phone numbers) is in the vocabulary.
    assert not any(ch.isdigit() for w in back.vocab for ch in w)
    meta = json.loads((tmp_path / "v1" / tm.META).read_text())
    meta["vocab"] = meta["vocab"][:-1]
    (tmp_path / "v1" / tm.META).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="disagree"):
        tm.load(tmp_path / "v1")


def test_a_tiny_history_with_two_units_and_no_common_words_still_ranks(tmp_path: Path, tokens: Tokens) -> None:
    import datetime as dt

    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        train.Example(at + dt.timedelta(hours=i), text, "", cat, unit)
        for i, (text, cat, unit) in enumerate(
            [("暖气不热", "utility-heating", "heat"), ("暖气不热家里冷", "utility-heating", "heat")] * 3
            + [("停水没水", "utility-water", "water"), ("停水好几天没水", "utility-water", "water")] * 3
        )
    ]
    m = train.fit([tokens(r.content) for r in rows], [[] for _ in rows], rows, "tiny")
    assert m.categories(tokens("暖气不热"))[0][0] == "utility-heating"
    assert m.units(tokens("停水"))[0][0] == "water"  # two units: scikit-learn's binary case
    assert m.categories(["从未见过"]) and m.features(["从未见过"])[0].size == 0


def test_a_history_file_with_a_bad_line_names_it(tmp_path: Path) -> None:
    good = {"at": "2026-10-05T08:00:00+08:00", "content": "暖气不热", "category": "utility-heating", "unit": "heat"}
    lines = [json.dumps(good), json.dumps({**good, "at": "2026-10-05T08:00:00"}), "{not json"]
    for bad, why in ((1, "offset"), (2, "line 3")):
        path = tmp_path / f"h{bad}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write("\n".join([lines[0], lines[bad]]) + "\n")
        with pytest.raises(history.HistoryError, match=why if bad == 1 else "line 2"):
            history.read(path)
    plain = tmp_path / "ok.jsonl"
    plain.write_text(json.dumps(good) + "\n\n", encoding="utf-8")
    [(row, week)] = history.read(plain)
    assert (row.category, row.unit, row.address, week) == ("utility-heating", "heat", "", 1)


@pytest.mark.parametrize(
    ("typed", "station", "number"),
    [
        ("东城区幸福路１２号", "xingfu", "12号"),
        ("幸福里小区3栋2单元501", "xingfu", "3号楼2单元501室"),
        ("和平东路一百二十号", "heping-e", "120号"),
        ("滨河小区 十二号楼 三单元", "binhe", "12号楼3单元"),
        ("东湖小区5号楼602室", "heping-e", "5号楼602室"),
        ("长江路88号", "", "88号"),
        ("解放大道12-3号", "", "12-3号"),
        ("", "", ""),
    ],
)
def test_addresses_are_normalised_to_community_and_house_number(typed: str, station: str, number: str) -> None:
    got = normalise(typed, UNITS, "", tuple(SETTINGS.districts))
    assert (got.station, got.number) == (station, number)
    if station:
        unit = UNITS.by_code[station]
        assert (got.district, got.street, got.community) == (unit.district, unit.street, unit.community)
    assert " " not in got.text and "１" not in got.text


def test_chinese_numerals() -> None:
    assert [cn_number(t) for t in ("十", "十二", "二十", "一百零五", "两百", "九")] == [10, 12, 20, 105, 200, 9]


def test_the_seeded_history_file_is_what_its_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import triage_history

    monkeypatch.setattr(triage_history, "OUT", tmp_path / "h.jsonl.gz")
    triage_history.main()
    assert (tmp_path / "h.jsonl.gz").read_bytes() == history.SEEDED.read_bytes()
    assert os.path.getsize(history.SEEDED) < 400_000
