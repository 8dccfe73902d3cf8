#!/usr/bin/python3
"""Judges scores of open deals against what truly happened to them.

  judge_scores.py TRUTH_OUTCOMES OPPORTUNITIES NAME=SCORES.csv [NAME=SCORES.csv ...]

TRUTH_OUTCOMES is truth/outcomes.csv of `revintel simulate` (id, outcome won/lost);
OPPORTUNITIES the exported opportunities.csv (its open deals and their rep-entered
probability, judged too). Each SCORES.csv has an id column and a p_win column. All are
judged on the same deals: the open deals every file scored. Prints AUC, Brier, log loss
and ECE (10 equal-width bins). Plain Python: no numpy needed.
"""
import csv, math, sys


def auc(p, y):
    order = sorted(range(len(p)), key=lambda i: p[i])
    ranks = [0.0] * len(p)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and p[order[j + 1]] == p[order[i]]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = r
        i = j + 1
    n1 = sum(y)
    n0 = len(y) - n1
    s = sum(r for r, t in zip(ranks, y) if t)
    return (s - n1 * (n1 + 1) / 2) / (n1 * n0)


def ece(p, y, bins=10):
    tot = 0.0
    for b in range(bins):
        idx = [i for i in range(len(p)) if min(int(p[i] * bins), bins - 1) == b]
        if idx:
            tot += abs(sum(p[i] for i in idx) / len(idx) - sum(y[i] for i in idx) / len(idx)) * len(idx)
    return tot / len(p)


def main():
    truth = {r["id"]: r["outcome"] == "won" for r in csv.DictReader(open(sys.argv[1]))}
    opps = list(csv.DictReader(open(sys.argv[2])))
    rep = {r["id"]: float(r["probability"]) / 100 for r in opps
           if r["status"] == "open" and r.get("probability", "") != ""}
    sides = [("rep-entered probability", rep)]
    for arg in sys.argv[3:]:
        name, path = arg.split("=", 1)
        rows = csv.DictReader(open(path))
        sides.append((name, {r["id"]: float(r["p_win"]) for r in rows}))
    ids = sorted(set.intersection(*[set(s[1]) for s in sides]) & set(truth))
    y = [1 if truth[i] else 0 for i in ids]
    print(f"judged on {len(ids)} open deals, {sum(y)} of them eventually won ({sum(y) / len(ids):.3f})")
    print(f"{'':28s} {'AUC':>6s} {'Brier':>6s} {'logL':>6s} {'ECE':>6s} {'mean p':>7s}")
    for name, s in sides:
        p = [min(max(s[i], 0.0), 1.0) for i in ids]
        ll = -sum(math.log(min(max(q if t else 1 - q, 1e-6), 1)) for q, t in zip(p, y)) / len(p)
        br = sum((q - t) ** 2 for q, t in zip(p, y)) / len(p)
        print(f"{name:28s} {auc(p, y):6.3f} {br:6.3f} {ll:6.3f} {ece(p, y):6.3f} {sum(p) / len(p):7.3f}")


if __name__ == "__main__":
    main()
