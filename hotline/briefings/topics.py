"""Hot topics (热点): words and two-word phrases from what citizens said,
counted by ticket, that rose well above their share of the weeks before.

Segmentation is jieba's (0.42): a dictionary of 350,000 words shipped in the
wheel (no model download on a machine without network), a hidden Markov
model for words it does not know, and a user dictionary, so the city's road
and compound names and the category names stay whole. The deep-learning
segmenters (pkuseg, LAC, HanLP) segment news text better but need model
files of hundreds of megabytes and a numeric stack for short complaints
about noise and heating. jieba's dictionary costs about 70 MB and a second
to load, so the controller runs this module in a child process
(`python -m hotline.briefings.topics`, a JSON line per ticket on stdin, the
topics as JSON on stdout) that exits when done.

Spike test, per term: the tickets mentioning it in the period (n) against
its share of the baseline's tickets times the period's tickets (e); hot when
n >= min_tickets, n >= ratio x e and the Poisson chance of n or more given e
is under one in a thousand; ranked by n·ln(n/e). A rise that only follows
the hotline's total volume is not a topic: the share is what must rise.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hotline.segment import tokenizer

# Words every complaint has (how people report, not what about).
STOPWORDS = frozenset(
    """
市民 来电 反映 表示 希望 要求 请求 问题 情况 相关 部门 尽快 处理 解决 诉求 咨询 投诉 举报 建议 目前 现在 已经
没有 可以 一下 这个 那个 这里 那里 我们 他们 你们 自己 时候 今天 昨天 明天 每天 一直 经常 非常 比较 严重 影响
导致 因为 所以 但是 而且 如果 还是 就是 不是 只有 无人 不能 不会 需要 应该 进行 存在 发生 出现 造成 情形 多次
多年 一个 一些 多少 什么 怎么 为什么 是否 能否 告知 答复 回复 联系 电话 号码 工作人员 有关 单位 附近 周边 家里
""".split()
)
_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")


class Segmenter:
    def __init__(self, extra_words: Iterable[str] = (), cache_dir: str | None = None):
        self._tk = tokenizer(extra_words, cache_dir)  # in a child process: the controller never loads it

    def terms(self, text: str) -> set[str]:
        """The words worth counting in one text, and each pair of them said
        side by side ('施工' '噪音' -> '施工噪音')."""
        out: set[str] = set()
        prev = ""
        for w in self._tk.lcut(text, HMM=True):
            if _WORD.match(w) and w not in STOPWORDS:
                out.add(w)
                if prev:
                    out.add(prev + w)
                prev = w
            else:
                prev = ""
        return out


@dataclass(slots=True)
class Topic:
    term: str
    count: int
    expected: float
    tickets: tuple[int, ...]
    related: list[str] = field(default_factory=list)  # other hot words of the same tickets

    @property
    def ratio(self) -> float:
        return self.count / self.expected

    @property
    def score(self) -> float:
        return self.count * math.log(self.count / self.expected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "count": self.count,
            "expected": round(self.expected, 2),
            "ratio": round(self.ratio, 1),
            "related": list(self.related),
            "tickets": list(self.tickets),
        }


def poisson_tail(n: int, mean: float) -> float:
    """P(X >= n) for X ~ Poisson(mean), its terms summed in logs so a busy
    city's large means neither underflow nor overflow."""
    if n <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    logs = [-mean + k * math.log(mean) - math.lgamma(k + 1) for k in range(n)]
    top = max(logs)
    below = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return max(0.0, 1.0 - below)


def hot_topics(
    period: dict[int, set[str]],
    baseline: Iterable[set[str]],
    *,
    min_tickets: int = 3,
    ratio: float = 2.0,
    limit: int = 10,
    p_value: float = 1e-3,
) -> list[Topic]:
    """period: ticket id -> its terms; baseline: each earlier ticket's terms."""
    base = Counter[str]()
    base_total = 0
    for terms in baseline:
        base.update(terms)
        base_total += 1
    mentions: dict[str, list[int]] = {}
    for tid, terms in period.items():
        for t in terms:
            mentions.setdefault(t, []).append(tid)
    total = len(period)
    candidates = []
    for term, ids in mentions.items():
        n = len(ids)
        if n < min_tickets:
            continue
        # Half a ticket's worth of prior: a term never seen before is still
        # expected a little, so three mentions in a large period are no spike.
        expected = total * (base[term] + 0.5) / (base_total + 1)
        if n >= ratio * expected and poisson_tail(n, expected) < p_value:
            candidates.append(Topic(term, n, expected, tuple(sorted(ids))))
    # Ties go to the longer term: a phrase says more than its words.
    candidates.sort(key=lambda c: (-c.score, -len(c.term), c.term))
    chosen: list[Topic] = []
    for c in candidates:
        # Words said in the same tickets are one topic ('共享单车', '盲道',
        # '人行道'): the first (strongest) names it, the others come along.
        mine = set(c.tickets)
        same = next((a for a in chosen if len(mine & set(a.tickets)) >= 0.8 * min(c.count, a.count)), None)
        if same is None:
            if len(chosen) < limit:
                chosen.append(c)
        elif len(same.related) < 5 and not any(c.term in t for t in (same.term, *same.related)):
            same.related.append(c.term)  # '单车' adds nothing beside '共享单车'
    return chosen


def main() -> None:
    """stdin, a JSON value a line: the options {...}; then ["p", id, text] for
    each ticket of the period; then ["b", id, text] for each of the baseline.
    stdout: {"topics": [...]}. Texts are segmented as they arrive: the
    period's tickets are kept as their terms, the baseline only as counts."""
    stream = (json.loads(line) for line in sys.stdin.buffer if line.strip())
    opts = next(stream, {})
    seg = Segmenter(opts.get("extra_words", []), opts.get("cache_dir"))
    period: dict[int, set[str]] = {}
    first_base: str | None = None
    for tag, tid, text in stream:
        if tag != "p":
            first_base = text
            break
        period[int(tid)] = seg.terms(text)

    def baseline() -> Iterator[set[str]]:
        if first_base is None:
            return
        yield seg.terms(first_base)
        for _tag, _tid, text in stream:
            yield seg.terms(text)

    topics = hot_topics(
        period,
        baseline(),
        min_tickets=opts.get("min_tickets", 3),
        ratio=opts.get("ratio", 2.0),
        limit=opts.get("limit", 10),
    )
    json.dump({"topics": [t.as_dict() for t in topics]}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
