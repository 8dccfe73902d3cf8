#!/usr/bin/python3
"""Judges `revintel forecast --format json` for the period after a simulated snapshot
against what truly closed in it.

  judge_forecast.py [--tsv] TRUTH_OUTCOMES OPPORTUNITIES FORECAST.json

--tsv prints one line instead: actual, forecast, P10, P90, the reps' figure and the
forecast before the recent change the forecast found and applied ("open_before_change").

The simulator creates no deal after its snapshot, so the actual is what the deals open
at the snapshot won inside the next period; it is compared with the forecast from the
open deals (the new-pipeline part is left out on both sides), and with the rep-entered
forecast (probability x amount of the open deals whose close date falls inside).
"""
import csv, json, sys


def main():
    args = sys.argv[1:]
    tsv = args[:1] == ["--tsv"]
    if tsv:
        args = args[1:]
    truth = {r["id"]: r for r in csv.DictReader(open(args[0]))}
    opps = [r for r in csv.DictReader(open(args[1])) if r["status"] == "open"]
    fc = json.load(open(args[2]))
    nxt = fc["periods"][1]
    y, q = nxt["period"].split("-Q")
    start = f"{y}-{(int(q) - 1) * 3 + 1:02d}-01"
    end = f"{int(y) + (q == '4')}-{(int(q) % 4) * 3 + 1:02d}-01"
    actual = sum(float(truth[r["id"]]["amount"]) for r in opps
                 if truth[r["id"]]["outcome"] == "won" and start <= truth[r["id"]]["close_date"] < end)
    rep = sum(float(r["probability"]) / 100 * float(r["amount"]) for r in opps
              if r["probability"] and start <= r["close_date"] < end)
    f = nxt["open_expected"]
    if tsv:
        print(f"{actual:.0f}\t{f:.0f}\t{nxt['open_p10']:.0f}\t{nxt['open_p90']:.0f}\t{rep:.0f}"
              f"\t{nxt['open_before_change']:.0f}")
        return
    print(f"period {nxt['period']} ({start} to {end}): actual from the open deals {actual:,.0f}")
    print(f"  revintel  {f:,.0f}  error {100 * (f - actual) / actual:+.1f} %  "
          f"P10-P90 [{nxt['open_p10']:,.0f}, {nxt['open_p90']:,.0f}] "
          f"{'contains' if nxt['open_p10'] <= actual <= nxt['open_p90'] else 'misses'} the actual")
    print(f"  reps      {rep:,.0f}  error {100 * (rep - actual) / actual:+.1f} %")
    chg = nxt["open_before_change"]
    segs = ", ".join(f"{x['segment']} x{x['factor']:.2f}" for x in fc["recent_change"]["segments"])
    print(f"  before the recent change ({segs or 'none found'}): {chg:,.0f}  "
          f"error {100 * (chg - actual) / actual:+.1f} %")
    print(f"  revintel's error is {100 * (1 - abs(f - actual) / abs(rep - actual)):.0f} % smaller than the reps'")


if __name__ == "__main__":
    main()
