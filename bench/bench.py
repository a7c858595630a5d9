"""Batch benchmark: grantgen end to end against LibreOffice alone, in one run.

    make bench                                  # sizes 100 and 1,000
    make bench BENCH_ARGS="--sizes 10000"       # the 10,000 batch (several minutes)
    .venv/bin/python bench/bench.py --help

For each size N it makes N synthetic grants (valid under the sample plan and sample prices),
then times, on this machine:

* grantgen: ``grantgen generate`` from start to exit (validation, DOCX, PDF packets with
  signature fields and metadata, ledger, manifest), with the grantgen process's peak RSS;
* baseline "one call": LibreOffice alone converting the same N DOCX files in one
  ``soffice --headless --convert-to pdf`` call;
* baseline "per doc": one ``soffice`` call per document, timed over 20 documents and scaled;
  also on a profile that skips LibreOffice's graphics self-tests (as grantgen's profiles do),
  which is what a tuned per-document loop could reach.

and a cold single-grant ``grantgen generate`` (no LibreOffice running). ``--compare-calls``
also times grantgen with ``GRANTGEN_SOFFICE_MODE=call`` (LibreOffice started per group of
documents rather than kept running). A CPU gauge (a fixed Python loop) says how fast the
machine was during the run. Nothing here is a test: the numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from generator.converting.convert import PROFILE_SEED

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "data" / "prices" / "atg-sample-prices.csv"
RESERVE = 800_000
RUNNER = """
import resource, sys
from generator.cli import main
try:
    main(sys.argv[1:], prog_name="grantgen")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(sys.argv[0] + ".rss", "w") as fh:
    fh.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def trading_days(prices: Path = PRICES) -> list[tuple[date, str]]:
    rows = [ln for ln in prices.read_text().splitlines() if ln and not ln.startswith("#")]
    return [(date.fromisoformat(d), c) for d, c in csv.reader(rows[1:])]


def make_grants(path: Path, n: int, prices: Path = PRICES, reserve: int = RESERVE) -> None:
    days = trading_days(prices)
    shares = max(1, reserve // n)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["grant_id", "participant", "address", "grant_date", "shares", "exercise_price"]
        )
        for i in range(n):
            day, close = days[i % len(days)]
            out.writerow(
                [
                    f"B-{i:06d}",
                    f"Director {i:06d} Example-Name",
                    f"{i} Main Street / Springfield, MA 0{i % 10000:04d}",
                    day.isoformat(),
                    shares,
                    close,
                ]
            )


def soffice() -> str:
    return os.environ.get("GRANTGEN_SOFFICE") or shutil.which("soffice") or "soffice"


def cpu_gauge() -> float:
    """Seconds a fixed pure-Python loop takes: how fast this machine is at the moment (shared
    virtual machines drift by a third from hour to hour; compare runs by it)."""
    started = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i * i
    return time.process_time() - started


def run_grantgen(
    grants: Path,
    out: Path,
    ledger: Path,
    jobs: int,
    work: Path,
    env: dict[str, str] | None = None,
    kit: Path | None = None,
) -> tuple[float, int, int]:
    runner = work / "run_grantgen.py"
    runner.write_text(RUNNER)
    cmd = [
        sys.executable,
        str(runner),
        "generate",
        str(grants),
        "--out",
        str(out),
        "--prices",
        str(kit / "sample-prices.csv" if kit else PRICES),
        "--ledger",
        str(ledger),
        "--quiet",
        "--accept-samples",  # the example plans' officers are samples
        *(["--plan", str(kit)] if kit else []),
    ]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:  # a figure of a failed run would be a wrong figure
        print(proc.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench: grantgen generate failed (exit {proc.returncode}); no figures")
    rss_kb = int((runner.with_suffix(".py.rss")).read_text() or 0)
    return seconds, rss_kb, proc.returncode


def soffice_convert(profile: Path, outdir: Path, files: list[Path]) -> None:
    """One plain ``soffice --headless --convert-to pdf`` call, as a user would run it."""
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        capture_output=True,
        check=False,
    )


def baseline_one_call(docx: list[Path], work: Path) -> tuple[float, int]:
    """One ``soffice --convert-to pdf`` call over all the files. LibreOffice 7.4 stops after a
    few hundred files in one call; the files it did not convert are given to another call
    (timed too), and the number of calls is returned with the time."""
    profile = work / "lo-one"
    out = work / "one"
    out.mkdir()
    calls = 0
    started = time.perf_counter()
    todo = list(docx)
    while todo and calls < 20:
        calls += 1
        soffice_convert(profile, out, todo)
        todo = [p for p in todo if not (out / f"{p.stem}.pdf").exists()]
    return time.perf_counter() - started, calls


def baseline_per_doc(
    docx: list[Path], work: Path, sample: int = 20, *, tuned: bool = False
) -> float:
    """One ``soffice`` call per document (``sample`` of them, timed and scaled). ``tuned``:
    on a profile that skips LibreOffice's graphics self-tests, as grantgen's profiles do."""
    profile = work / ("lo-each-tuned" if tuned else "lo-each")
    out = work / ("each-tuned" if tuned else "each")
    out.mkdir()
    if tuned:
        settings = profile / "user" / "registrymodifications.xcu"
        settings.parent.mkdir(parents=True)
        settings.write_text(PROFILE_SEED, encoding="utf-8")
    chosen = docx[:sample]
    # warm the profile once, as a real per-document loop would after its first call
    soffice_convert(profile, work, chosen[:1])
    started = time.perf_counter()
    for path in chosen:
        soffice_convert(profile, out, [path])
    return (time.perf_counter() - started) * len(docx) / len(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000", help="comma-separated batch sizes")
    parser.add_argument("--jobs", type=int, default=0, help="grantgen --jobs (default: cores)")
    parser.add_argument("--no-baselines", action="store_true", help="time grantgen only")
    parser.add_argument(
        "--kit",
        type=Path,
        help="a form kit to make the batch with (its sample-prices.csv prices the grants), "
        "e.g. data/kits/meridian: its notices are compared with its approved forms and carry "
        "vesting schedules and signature bookmarks; default: the bundled ATG example",
    )
    parser.add_argument(
        "--compare-calls",
        action="store_true",
        help="also time grantgen with GRANTGEN_SOFFICE_MODE=call (a LibreOffice start per "
        "group of documents instead of one kept running per worker)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    kit: Path | None = args.kit.resolve() if args.kit else None
    prices = kit / "sample-prices.csv" if kit else PRICES
    reserve = RESERVE
    if kit:
        from generator.terms.plan import load_plan

        reserve = load_plan(kit).reserve // 2
        print(f"kit: {kit}")
    office = subprocess.run([soffice(), "--version"], capture_output=True, text=True).stdout
    python = platform.python_version()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}, {office.strip()}"
    )
    print(f"CPU gauge (a fixed Python loop; lower is a faster machine): {cpu_gauge():.2f} s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="grantgen-bench-") as tmp:
        work = Path(tmp)
        # cold single grant: no LibreOffice running, the cached profile as a user would have it
        one = work / "one.csv"
        make_grants(one, 1, prices, reserve)
        cold, _, _ = run_grantgen(
            one, work / "out-1", work / "l-1.sqlite", args.jobs, work, kit=kit
        )
        print(f"single grant, cold: {cold:.2f} s")
        for n in sizes:
            grants = work / f"grants-{n}.csv"
            make_grants(grants, n, prices, reserve)
            out = work / f"out-{n}"
            seconds, rss_kb, code = run_grantgen(
                grants, out, work / f"l-{n}.sqlite", args.jobs, work, kit=kit
            )
            docs = len(list(out.glob("*.pdf")))
            row = {
                "n": n,
                "docs": docs,
                "s": seconds,
                "rate": docs / seconds,
                "rss": rss_kb / 1024,
                "code": code,
            }
            if args.compare_calls:
                called = work / f"out-{n}-call"
                row["call"], _, _ = run_grantgen(
                    grants,
                    called,
                    work / f"l-{n}-call.sqlite",
                    args.jobs,
                    work,
                    env={**os.environ, "GRANTGEN_SOFFICE_MODE": "call"},
                    kit=kit,
                )
                shutil.rmtree(called, ignore_errors=True)
            if not args.no_baselines:
                docx = sorted(out.glob("*.docx"))
                sub = work / f"base-{n}"
                sub.mkdir()
                row["one"], row["calls"] = baseline_one_call(docx, sub)
                row["each"] = baseline_per_doc(docx, sub)
                row["tuned"] = baseline_per_doc(docx, sub, tuned=True)
            rows.append(row)
            shutil.rmtree(out, ignore_errors=True)
    head = f"{'grants':>7} {'docs':>6} {'seconds':>8} {'docs/s':>7} {'peak MB':>8}"
    if not args.no_baselines:
        head += f" {'LO 1 call s':>11} {'x':>6} {'LO per-doc s':>12} {'x':>7}"
    print(head)
    for r in rows:
        line = f"{r['n']:>7} {r['docs']:>6} {r['s']:>8.1f} {r['rate']:>7.1f} {r['rss']:>8.0f}"
        if "one" in r:
            line += (
                f" {r['one']:>11.1f} {r['one'] / r['s']:>5.1f}x {r['each']:>12.1f}"
                f" {r['each'] / r['s']:>6.1f}x"
            )
        if "tuned" in r:
            line += f"  (per-doc on a profile without self-tests: {r['tuned']:.1f} s,"
            line += f" {r['tuned'] / r['s']:.1f}x)"
        if "call" in r:
            line += f"  (GRANTGEN_SOFFICE_MODE=call: {r['call']:.1f} s)"
        if r.get("calls", 1) > 1:
            line += f"  (LibreOffice alone needed {r['calls']} calls)"
        if r["code"]:
            line += f"  (grantgen exit {r['code']})"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
