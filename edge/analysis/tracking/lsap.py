"""The linear sum assignment problem for ByteTrack's matching, in NumPy.

Rows (the tracks) and columns (the boxes) are paired so that the sum of the chosen costs is
least, every row of the shorter side paired once. The method is the shortest augmenting path
of Jonker and Volgenant in Crouse's rectangular form (D. F. Crouse, "On implementing 2D
rectangular assignment algorithms", IEEE TAES 52(4), 2016): each row in turn is added by a
Dijkstra search over the columns on reduced costs, the dual variables keep every reduced cost
non-negative, and the path found is flipped. Among columns of equal path cost the search takes
the first one left in its list, and a free column before one that is taken: the same rule
SciPy's ``linear_sum_assignment`` follows, so ties (ByteTrack caps every cost above its
threshold to one value) are broken the same way (tests/analysis/test_lsap.py checks it against
SciPy on matrices full of ties).

A node matches a handful of people per detector run, so plain Python over NumPy rows is
enough; SciPy's ``scipy.optimize`` would cost a node some 40 MB of memory to import
(docs/memory.md).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.intp]


def linear_sum_assignment(cost: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Rows and columns of a least-cost full assignment of *cost* (a 2-D array of finite
    numbers): ``(rows, cols)``, rows in increasing order, one pair per row of the shorter
    side. Raises ValueError for a matrix that is not 2-D or holds NaN or infinity."""
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("cost holds NaN or infinity")
    transposed = c.shape[1] < c.shape[0]
    if transposed:
        c = c.T
    n_rows, n_cols = c.shape
    if n_rows == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty.copy()
    col_of = _assign(c.tolist(), n_rows, n_cols)
    if transposed:
        order = np.argsort(col_of, kind="stable")
        return np.asarray(col_of, dtype=np.intp)[order], order.astype(np.intp)
    return np.arange(n_rows, dtype=np.intp), np.asarray(col_of, dtype=np.intp)


def _assign(c: list[list[float]], n_rows: int, n_cols: int) -> list[int]:
    """The column of each row (n_rows <= n_cols)."""
    u = [0.0] * n_rows  # row duals
    v = [0.0] * n_cols  # column duals
    col_of = [-1] * n_rows
    row_of = [-1] * n_cols
    for start in range(n_rows):
        sink, reach, dist, via, rows_seen, cols_done = _shortest_path(c, u, v, row_of, start)
        u[start] += reach
        for r in range(n_rows):
            if rows_seen[r] and r != start:
                u[r] += reach - dist[col_of[r]]
        for j in range(n_cols):
            if cols_done[j]:
                v[j] -= reach - dist[j]
        col = sink
        while True:  # flip the path: each row on it takes the next column
            row = via[col]
            row_of[col] = row
            col_of[row], col = col, col_of[row]
            if row == start:
                break
    return col_of


def _shortest_path(
    c: list[list[float]], u: list[float], v: list[float], row_of: list[int], start: int
) -> tuple[int, float, list[float], list[int], list[bool], list[bool]]:
    """Dijkstra on reduced costs from row *start* to the nearest free column: that column,
    its path cost, every column's path cost and the row it is reached from, and the rows and
    columns the search settled."""
    n_cols = len(v)
    dist = [math.inf] * n_cols
    via = [-1] * n_cols
    rows_seen = [False] * len(u)
    cols_done = [False] * n_cols
    todo = list(range(n_cols - 1, -1, -1))
    reach = 0.0
    row = start
    while True:
        rows_seen[row] = True
        best, pick = math.inf, -1
        base = reach - u[row]
        costs = c[row]
        for k, col in enumerate(todo):
            d = base + costs[col] - v[col]
            if d < dist[col]:
                dist[col] = d
                via[col] = row
            if dist[col] < best or (dist[col] == best and row_of[col] < 0):
                best, pick = dist[col], k
        reach = best
        col = todo[pick]
        cols_done[col] = True
        todo[pick] = todo[-1]
        todo.pop()
        if row_of[col] < 0:
            return col, reach, dist, via, rows_seen, cols_done
        row = row_of[col]
