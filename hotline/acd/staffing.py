"""How many lines a half hour needs: Erlang C, and Erlang A (Palm's M/M/n+M:
callers who give up after an exponentially distributed patience), written
here in a hundred lines of pure Python rather than taken from a library:
the maintained packages on PyPI (pyworkforce, erlangccmath) do Erlang C only,
and a caller who hangs up is exactly what the hotline's connection rate is
about. Pure: unit-tested against published Erlang C tables and a simulation.

Service level is GB/T 33358's: calls answered within `within_s` over calls
offered (an abandon counts against it), connection rate answered over offered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# States of the birth-death chain kept once their probability is this small.
_TAIL = 1e-12
_MAX_STATES = 20_000


@dataclass(frozen=True, slots=True)
class Load:
    arrivals_per_hour: float
    handle_s: float  # mean talk + after-call time
    patience_s: float | None = None  # mean patience; None: nobody gives up (Erlang C)

    def scaled(self, k: float) -> Load:
        """The what-if: arrivals × k (a holiday, a heating failure, a city ten times larger)."""
        return Load(self.arrivals_per_hour * k, self.handle_s, self.patience_s)

    @property
    def erlangs(self) -> float:
        return self.arrivals_per_hour * self.handle_s / 3600.0


@dataclass(frozen=True, slots=True)
class Prediction:
    lines: int
    service_level: float  # answered within within_s / offered
    connection_rate: float  # answered / offered
    abandon_rate: float
    p_wait: float  # a caller waits at all
    occupancy: float  # busy share of the lines

    def as_dict(self) -> dict[str, float | int]:
        return {
            "lines": self.lines,
            "service_level": round(self.service_level, 4),
            "connection_rate": round(self.connection_rate, 4),
            "abandon_rate": round(self.abandon_rate, 4),
            "p_wait": round(self.p_wait, 4),
            "occupancy": round(self.occupancy, 4),
        }


def erlang_c(lines: int, erlangs: float) -> float:
    """P(wait) with `lines` servers and offered traffic `erlangs` (no abandonment),
    through Erlang B's stable recursion."""
    if lines <= 0:
        return 1.0
    if erlangs <= 0:
        return 0.0
    if erlangs >= lines:
        return 1.0
    b = 1.0
    for k in range(1, lines + 1):
        b = erlangs * b / (k + erlangs * b)
    return lines * b / (lines - erlangs * (1 - b))


def predict(load: Load, lines: int, within_s: float = 15.0) -> Prediction:
    lam = load.arrivals_per_hour / 3600.0
    mu = 1.0 / load.handle_s
    if lam <= 0:
        return Prediction(lines, 1.0, 1.0, 0.0, 0.0, 0.0)
    if lines <= 0:
        return Prediction(0, 0.0, 0.0, 1.0, 1.0, 0.0)
    if load.patience_s is None or load.patience_s <= 0:
        a = load.erlangs
        if a >= lines:  # the queue grows without end: nobody is answered in time
            return Prediction(lines, 0.0, 1.0, 0.0, 1.0, 1.0)
        pw = erlang_c(lines, a)
        sl = 1 - pw * math.exp(-(lines * mu - lam) * within_s)
        return Prediction(lines, sl, 1.0, 0.0, pw, a / lines)
    return _erlang_a(lam, mu, 1.0 / load.patience_s, lines, within_s)


def _erlang_a(lam: float, mu: float, theta: float, n: int, t: float) -> Prediction:
    # Stationary distribution of the number in the system, unnormalised, in
    # logs so a large n does not overflow.
    logs = [0.0]
    k = 0
    while True:
        k += 1
        death = k * mu if k <= n else n * mu + (k - n) * theta
        logs.append(logs[-1] + math.log(lam / death))
        if (k > n and logs[-1] - max(logs) < math.log(_TAIL)) or k >= _MAX_STATES:
            break
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    total = sum(weights)
    pi = [w / total for w in weights]
    p_wait = sum(pi[n:])
    queue = sum((k - n) * p for k, p in enumerate(pi) if k > n)
    abandon = theta * queue / lam
    busy = sum(min(k, n) * p for k, p in enumerate(pi)) / n
    # An arrival that finds k >= n waits behind i = k - n others: u[i] is the
    # chance it reaches a line within t (RK4 on the backward equations).
    ahead = len(pi) - n
    u = _reach_within(ahead, n * mu, theta, t)
    sl = sum(pi[:n]) + sum(pi[n + i] * u[i] for i in range(ahead))
    return Prediction(n, sl, 1 - abandon, abandon, p_wait, busy)


def _reach_within(states: int, served_rate: float, theta: float, t: float) -> list[float]:
    """u_i(t) for i = 0..states-1 callers ahead: du_i/dt = (nμ + iθ)(u_{i-1} - u_i) - θ u_i, u_{-1} = 1."""
    if states <= 0:
        return []
    rate = [served_rate + i * theta for i in range(states)]
    # Steps small enough for RK4 to stay stable on the fastest state.
    steps = max(60, int(t / 0.05), int(t * (rate[-1] + theta)) + 1)
    h = t / steps

    def deriv(u: list[float]) -> list[float]:
        out = [0.0] * states
        prev = 1.0
        for i in range(states):
            out[i] = rate[i] * (prev - u[i]) - theta * u[i]
            prev = u[i]
        return out

    u = [0.0] * states
    for _ in range(steps):
        k1 = deriv(u)
        k2 = deriv([x + h / 2 * d for x, d in zip(u, k1)])
        k3 = deriv([x + h / 2 * d for x, d in zip(u, k2)])
        k4 = deriv([x + h * d for x, d in zip(u, k3)])
        u = [x + h / 6 * (a + 2 * b + 2 * c + d) for x, a, b, c, d in zip(u, k1, k2, k3, k4)]
    return u


def lines_needed(
    load: Load, service_level: float = 0.8, within_s: float = 15.0, connection: float = 0.95, max_lines: int = 2000
) -> Prediction:
    """The fewest lines meeting both targets (GB/T 33358: 80 % within 15 s is
    the industry's, ≥ 95 % connected over 24 hours the standard's)."""
    if load.arrivals_per_hour <= 0:
        return Prediction(0, 1.0, 1.0, 0.0, 0.0, 0.0)
    n = max(1, math.floor(load.erlangs))
    while n <= max_lines:
        p = predict(load, n, within_s)
        if p.service_level >= service_level and p.connection_rate >= connection:
            return p
        n += 1
    return predict(load, max_lines, within_s)
