"""Corpus benchmark: newsclean against baselines measured in the same run.

Every figure is a median of repeats and is printed next to the baseline it is judged
against, on the same real paragraphs: pages from the shared corpora (wcxb-dev and
news-fixtures), extracted by trafilatura.

    .venv/bin/python bench/bench_corpus.py            # full: about 18 minutes on 2 cores (a 1 GB corpus)
    .venv/bin/python bench/bench_corpus.py --quick    # about a minute, small sizes
    .venv/bin/python bench/bench_corpus.py --only dask --dask-workers 1,4,16   # on a 16-core machine
    .venv/bin/python bench/bench_corpus.py --only cold --previous v0.1.0        # cold start against a release

Measured:
- trafilatura's extraction of the pages (paragraphs per second);
- the floor: reading the same paragraphs as JSONL and splitting them, nothing else;
- a C4-style rule filter (three words or more, closing punctuation, no "cookie" or
  "javascript") over the same paragraphs;
- classification with the shipped model on one core: batched (many documents per
  model call), one ``classify`` call per document, and the whole ``clean`` corpus job
  (read, classify, clean, write) in one process; per wall second and per CPU second
  (the machine may be shared: CPU seconds do not count time lost to other processes);
- cold start of ``newsclean clean`` on the seed article against ``python -c pass``
  and against the previous release (``--previous``, a git revision; default HEAD);
- peak memory cleaning a large JSONL corpus against a ten times smaller one;
- ``--jobs 2`` against ``--jobs 1`` on a 60 MB and a 240 MB corpus (the target is
  judged on the larger), with the CPU seconds each obtained; Dask
  LocalClusters of the given worker counts (default 1, 4 and 16; those above this
  machine's core count are skipped and said so).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = ROOT / "seeds" / "000_5fc31cc41396119c.txt"

TARGETS = {
    "classify_per_core": 50_000,  # paragraphs per second per core
    "trafilatura_overhead": 0.05,  # classification time / extraction time
    "floor_ratio": 20.0,  # floor rate / classify rate
    "c4_ratio": 3.0,  # rule-filter rate / classify rate
    "cold_start_s": 0.5,
    "memory_ratio": 1.10,
    "memory_mb": 500.0,
    "jobs2_speedup": 1.8,
    "dask16_speedup": 12.0,
}


def corpora_folder() -> Path:
    configured = os.environ.get("NEWSCLEAN_CORPORA")
    return Path(configured) if configured else ROOT.parent / "shared" / "corpora"


def median_of(repeats: int, function: Callable[[], Any]) -> tuple[float, float, Any]:
    """Median wall seconds, median CPU seconds of this process, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def say(text: str = "") -> None:
    print(text, flush=True)


# -- pages and paragraphs ------------------------------------------------------------


def sample_pages(count: int) -> list[tuple[str, str]]:
    """(name, html) of ``count`` pages, half wcxb-dev articles, half news-fixtures, fixed choice."""
    folder = corpora_folder()
    wcxb = folder / "wcxb-dev"
    articles: list[Path] = []
    metadata = wcxb / "metadata.json"
    if metadata.is_file():
        files = json.loads(metadata.read_text(encoding="utf-8")).get("files", {})
        for key, value in sorted(files.items()):
            candidate = wcxb / "html" / f"{key}.html.gz"
            if isinstance(value, dict) and value.get("page_type") == "article" and candidate.is_file():
                articles.append(candidate)
    if not articles:
        articles = sorted((wcxb / "html").glob("*.html.gz"))
    fixtures = sorted((folder / "news-fixtures" / "pages").rglob("*.html.gz"))
    if not articles and not fixtures:
        raise SystemExit(f"no pages under {folder}: set NEWSCLEAN_CORPORA to the shared corpora folder")
    half = count // 2
    chosen = _spread(sorted(set(articles)), half) + _spread(fixtures, count - half)
    return [(str(path.relative_to(folder)), gzip.open(path, "rt", encoding="utf-8", errors="replace").read()) for path in chosen]


def _spread(paths: Sequence[Path], count: int) -> list[Path]:
    if count >= len(paths):
        return list(paths)
    step = len(paths) / count
    return [paths[int(n * step)] for n in range(count)]


def extract_all(pages: list[tuple[str, str]]) -> list[str]:
    import trafilatura

    texts = []
    for _, html in pages:
        text = trafilatura.extract(html) or ""
        texts.append("\n".join(line for line in text.splitlines() if line.strip()) + ("\n" if text.strip() else ""))
    return texts


def c4_keep(paragraph: str) -> bool:
    """C4's line rules: three words or more, closing punctuation, no cookie or javascript notice."""
    if len(paragraph.split()) < 3:
        return False
    if not paragraph.rstrip().endswith((".", "!", "?", '"', "”", "'")):
        return False
    lowered = paragraph.lower()
    return "cookie" not in lowered and "javascript" not in lowered


# -- subprocess measures ---------------------------------------------------------------


def run_tree(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the process and all its descendants, CPU seconds of the process alone)."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last: dict[int, float] = {}
    try:
        parent = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                for member in [parent, *parent.children(recursive=True)]:
                    times = member.cpu_times()
                    last[member.pid] = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(0.05)
    except psutil.Error:
        pass
    process.wait()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {process.returncode}")
    return time.perf_counter() - started, sum(last.values()), last.get(process.pid, 0.0)


def run_wall(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


# Runs the CLI and reports the process's own peak resident memory (VmHWM) at exit.
# (ru_maxrss of a child is no good here: Linux carries the parent's high-water mark
# across fork and exec, so a child would report at least this benchmark's own size.)
PEAK_WRAPPER = """
import atexit, sys
def _peak():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                sys.stderr.write("PEAK-KB " + line.split()[1] + "\\n")
    except OSError:
        pass
atexit.register(_peak)
from classifier.cli import main
sys.argv = ["newsclean", *sys.argv[1:]]
main()
"""


def run_peak(arguments: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS of the newsclean process in MB, peak summed RSS of its process tree in MB)."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", PEAK_WRAPPER, *arguments], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    tree_peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal tree_peak
        try:
            parent = psutil.Process(process.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            try:
                total = parent.memory_info().rss + sum(child.memory_info().rss for child in parent.children(recursive=True))
                tree_peak = max(tree_peak, total)
            except psutil.Error:
                pass
            stop.wait(0.05)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    error = process.communicate()[1].decode("utf-8", "replace")
    stop.set()
    watcher.join()
    if process.returncode:
        raise RuntimeError(f"newsclean {' '.join(arguments)} failed: {error[-2000:]}")
    peaks = [int(line.split()[1]) for line in error.splitlines() if line.startswith("PEAK-KB ")]
    peak_mb = peaks[-1] / 1024 if peaks else float("nan")
    return time.perf_counter() - started, peak_mb, tree_peak / 2**20


def cli_command() -> list[str]:
    """``newsclean`` when the installed script runs this tree, else ``python -m classifier``."""
    script = Path(sys.executable).with_name("newsclean")
    if script.exists():
        found = subprocess.run(
            [sys.executable, "-c", "import classifier; print(classifier.__file__)"], cwd="/", capture_output=True, text=True
        ).stdout.strip()
        if found and Path(found).resolve().parent == (ROOT / "classifier").resolve():
            return [str(script)]
    return [sys.executable, "-m", "classifier"]


def build_corpus(path: Path, texts: list[str], size_bytes: int) -> int:
    """A JSONL corpus of about ``size_bytes``, the real documents repeated; returns rows."""
    lines = [json.dumps({"text": text}, ensure_ascii=False) for text in texts if text]
    rows = 0
    written = 0
    with open(path, "w", encoding="utf-8") as stream:
        while written < size_bytes:
            for n, line in enumerate(lines):
                record = f'{{"id": "{rows}", "url": "https://site{n % 50}.example/{rows}", {line[1:]}\n'
                stream.write(record)
                written += len(record.encode("utf-8"))
                rows += 1
                if written >= size_bytes:
                    break
    return rows


def previous_release_tree(folder: Path, revision: str = "HEAD", repo: Path = ROOT) -> Path | None:
    """``revision`` exported to ``folder`` (read-only git), or None without git or revision."""
    try:
        archive = subprocess.run(["git", "archive", revision], cwd=repo, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    if not (folder / "classifier" / "__main__.py").is_file():
        return None
    # Its own shipped model, found inside the package (an installed newsclean would
    # otherwise lend it the model of the installed tree).
    if (folder / "models").is_dir() and not (folder / "classifier" / "models").exists():
        shutil.copytree(folder / "models", folder / "classifier" / "models")
    return folder


# -- dask ----------------------------------------------------------------------------


def dask_speedups(texts: list[str], workers: list[int], repeats: int, paragraphs_target: int) -> dict[int, float]:
    import warnings

    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    import classifier.dask as cdask
    from classifier.text import split_paragraphs

    warnings.filterwarnings("ignore", message=".*large graph.*")
    warnings.filterwarnings("ignore", message=".*Sending large graph.*")
    per_copy = sum(len(split_paragraphs(text)) for text in texts) or 1
    copies = max(1, paragraphs_target // per_copy)
    frame = pd.DataFrame({"text": texts * copies})
    seconds: dict[int, float] = {}
    for count in workers:
        with LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                lazy = dd.from_pandas(frame, npartitions=max(8, 4 * count)).persist()
                client.wait_for_workers(count)
                cdask.clean_frame(dd.from_pandas(frame.head(64), npartitions=count))["text"].str.len().sum().compute()
                runs = iter(range(repeats))

                def once(lazy: Any = lazy, runs: Any = runs) -> Any:
                    # A new column each time: the same graph again would be answered from memory.
                    return cdask.clean_frame(lazy.assign(run=next(runs)))["text"].str.len().sum().compute()

                wall, _, _ = median_of(repeats, once)
                seconds[count] = wall
        say(f"  dask {count:>2} worker(s): {per_copy * copies / wall:>10,.0f} ¶/s  ({wall:.2f} s)")
    return seconds


# -- main ----------------------------------------------------------------------------


SECTIONS = ("speed", "cold", "memory", "jobs", "dask")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats: under a minute")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections to run ({', '.join(SECTIONS)})")
    parser.add_argument("--pages", type=int, help="pages to extract (default 200, quick 30)")
    parser.add_argument("--repeats", type=int, help="repeats per in-process measure (default 5, quick 2)")
    parser.add_argument("--large-mb", type=float, help="the large corpus for peak memory (default 1000, quick 40)")
    parser.add_argument(
        "--jobs-mb",
        help="comma-separated corpus sizes for --jobs 2 against --jobs 1, judged on the largest (default 60,240; quick 10)",
    )
    parser.add_argument("--dask-workers", default="1,4,16", help="comma-separated Dask worker counts (default 1,4,16)")
    parser.add_argument("--previous", default="HEAD", help="git revision of the previous release, for cold start (default HEAD)")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git checkout holding --previous (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    sections = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}: choose from {', '.join(SECTIONS)}")
    quick = args.quick
    pages_count = args.pages or (30 if quick else 200)
    repeats = args.repeats or (2 if quick else 5)
    large_mb = args.large_mb or (40.0 if quick else 1000.0)
    small_mb = large_mb / 10
    jobs_mb = [float(size) for size in args.jobs_mb.split(",")] if args.jobs_mb else [10.0] if quick else [60.0, 240.0]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    figures: dict[str, Any] = {"mode": "quick" if quick else "full", "cores": cores}

    import classifier
    from classifier.text import split_paragraphs

    say(
        f"newsclean {classifier.__version__} corpus benchmark ({figures['mode']}), {cores} cores, python {sys.version.split()[0]}"
    )
    say(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (other processes share the machine)")

    # trafilatura on real pages: the paragraphs every other measure uses.
    pages = sample_pages(pages_count)
    traf_repeats = 1 if quick or "speed" not in sections else 3
    traf_wall, traf_cpu, texts = median_of(traf_repeats, lambda: extract_all(pages))
    documents = [[p.text for p in split_paragraphs(text)] for text in texts]
    paragraphs = sum(len(document) for document in documents)
    figures.update(pages=len(pages), paragraphs=paragraphs, trafilatura_seconds=traf_wall)
    say(f"\npages: {len(pages)} (wcxb-dev articles and news-fixtures), {paragraphs:,} paragraphs extracted by trafilatura")
    say(
        f"trafilatura extraction     {paragraphs / traf_wall:>12,.0f} ¶/s wall {paragraphs / traf_cpu:>12,.0f} ¶/s CPU"
        f"   (median of {traf_repeats})"
    )

    workdir = Path(tempfile.mkdtemp(prefix="newsclean-bench-"))
    try:
        if "speed" in sections:
            # One core means one BLAS thread too: idle BLAS threads spin, and their CPU
            # seconds would count against classification (the corpus workers do the same).
            from classifier.bulk.process import one_blas_thread

            with one_blas_thread():
                speed(figures, texts, documents, paragraphs, traf_wall, traf_cpu, repeats, quick, workdir)
        if "cold" in sections:
            cold_start(figures, 3 if quick else 10, args.previous, args.repo, workdir)
        if "memory" in sections:
            memory(figures, texts, small_mb, large_mb, workdir)
        if "jobs" in sections:
            jobs_speedup(figures, texts, jobs_mb, 1 if quick else 3, cores, workdir)
        if "dask" in sections:
            wanted = [int(n) for n in args.dask_workers.split(",") if n.strip()]
            runnable = [n for n in wanted if n <= cores]
            say("\ndask (LocalCluster, processes, one thread each):")
            for skipped in sorted(set(wanted) - set(runnable)):
                say(f"  {skipped} workers: skipped, this machine has {cores} cores")
            if runnable:
                target = 20_000 if quick else 200_000 * max(runnable) // 4
                seconds = dask_speedups(texts, runnable, 1 if quick else 3, target)
                base = seconds[min(seconds)]
                figures["dask_seconds"] = seconds
                for count, wall in seconds.items():
                    say(f"  {count} workers: {base / wall:.2f}× {min(seconds)} worker(s)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    say(f"\nload average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report_targets(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=float) + "\n", encoding="utf-8")
    return 0


def speed(
    figures: dict[str, Any],
    texts: list[str],
    documents: list[list[str]],
    paragraphs: int,
    traf_wall: float,
    traf_cpu: float,
    repeats: int,
    quick: bool,
    workdir: Path,
) -> None:
    """Classification against the floor, the C4-style filter and trafilatura, one core."""
    import classifier
    from classifier.bulk.runner import CorpusJob, run_corpus
    from classifier.text import split_paragraphs

    copies = max(1, (20_000 if quick else 100_000) // max(paragraphs, 1))
    texts_rep = texts * copies
    documents_rep = documents * copies
    total = paragraphs * copies
    corpus = workdir / "docs.jsonl"
    with open(corpus, "w", encoding="utf-8") as stream:
        for number, text in enumerate(texts_rep):
            stream.write(json.dumps({"id": number, "text": text}, ensure_ascii=False) + "\n")

    def floor() -> int:
        count = 0
        with open(corpus, encoding="utf-8") as stream:
            for line in stream:
                count += len(split_paragraphs(json.loads(line)["text"]))
        return count

    floor_wall, floor_cpu, counted = median_of(repeats, floor)
    assert counted == total
    c4_wall, c4_cpu, _ = median_of(repeats, lambda: [[c4_keep(p) for p in document] for document in documents_rep])
    model = classifier.load_model()

    def batched() -> None:
        for start in range(0, len(documents_rep), 512):
            model.predict_proba_documents(documents_rep[start : start + 512])

    batch_wall, batch_cpu, _ = median_of(repeats, batched)

    def one_by_one() -> int:
        failures = 0
        for text in texts_rep:
            try:
                classifier.classify(text, model=model)
            except Exception:  # reported below: a model bug must not stop the benchmark
                failures += 1
        return failures

    one_wall, one_cpu, failures = median_of(max(1, repeats // 2), one_by_one)
    if failures:
        say(f"  note: classify() raised on {failures // copies} of the {len(texts)} documents (a model bug; timed anyway)")

    def pipeline() -> None:
        run_corpus(CorpusJob(corpus, workdir / "clean.jsonl", jobs=1), notify=lambda _: None)

    pipe_wall, pipe_cpu, _ = median_of(repeats, pipeline)
    rates = {
        "floor": (total / floor_wall, total / floor_cpu),
        "c4": (total / c4_wall, total / c4_cpu),
        "batched": (total / batch_wall, total / batch_cpu),
        "per_document": (total / one_wall, total / one_cpu),
        "pipeline": (total / pipe_wall, total / pipe_cpu),
    }
    figures["rates"] = {name: {"wall": wall, "cpu": cpu} for name, (wall, cpu) in rates.items()}
    say(f"\nsame paragraphs, {total:,} per pass (the pages' {paragraphs:,} × {copies}), one core, median of {repeats}:")
    names = {
        "floor": "read JSONL + split (floor)",
        "c4": "C4-style rule filter",
        "batched": "classify, batched",
        "per_document": "classify(), one call a doc",
        "pipeline": "clean corpus job (jobs 1)",
    }
    for key, label in names.items():
        wall, cpu = rates[key]
        say(f"{label:<27}{wall:>12,.0f} ¶/s wall {cpu:>12,.0f} ¶/s CPU")
    classify_rate, classify_cpu = rates["batched"]
    overhead = (paragraphs / classify_rate) / traf_wall
    overhead_cpu = (paragraphs / classify_cpu) / traf_cpu
    figures.update(
        floor_ratio=rates["floor"][0] / classify_rate,
        c4_ratio=rates["c4"][0] / classify_rate,
        pipeline_floor_ratio=rates["floor"][0] / rates["pipeline"][0],
        trafilatura_overhead=overhead,
        trafilatura_overhead_cpu=overhead_cpu,
    )
    say(
        f"  floor is {figures['floor_ratio']:.1f}× classify (batched); {figures['pipeline_floor_ratio']:.1f}× the whole clean job"
    )
    say(f"  C4-style filter is {figures['c4_ratio']:.1f}× classify (batched)")
    say(f"  classification adds {overhead:.1%} to trafilatura's extraction time ({overhead_cpu:.1%} in CPU time)")


def cold_start(figures: dict[str, Any], repeats: int, previous: str, repo: Path, workdir: Path) -> None:
    """``newsclean clean`` of the seed against ``python -c pass`` and the previous release."""
    python = sys.executable
    command = cli_command()
    run_wall([*command, "clean", str(SEED)])  # warm the file cache
    cold = statistics.median(run_wall([*command, "clean", str(SEED)]) for _ in range(repeats))
    bare = statistics.median(run_wall([python, "-c", "pass"]) for _ in range(repeats))
    current_module = statistics.median(run_wall([python, "-m", "classifier", "clean", str(SEED)]) for _ in range(repeats))
    figures.update(cold_start_s=cold, python_pass_s=bare, cold_start_module_s=current_module)
    say(
        f"\ncold start, median of {repeats}: {' '.join(Path(c).name for c in command)} clean seed {cold:.3f} s; "
        f"python -c pass {bare:.3f} s ({cold / bare:.1f}×)"
    )
    tree = previous_release_tree(Path(tempfile.mkdtemp(prefix="previous-", dir=workdir)), previous, repo)
    if tree is None:
        say(f"  previous release: no git revision {previous!r} in {repo}")
        return
    run_wall([python, "-m", "classifier", "clean", str(SEED)], cwd=tree)
    before = statistics.median(run_wall([python, "-m", "classifier", "clean", str(SEED)], cwd=tree) for _ in range(repeats))
    figures.update(cold_start_previous_s=before, previous_release=previous)
    say(
        f"  python -m classifier clean seed: this tree {current_module:.3f} s, {previous} {before:.3f} s "
        f"({current_module / before:.2f}×)"
    )


def memory(figures: dict[str, Any], texts: list[str], small_mb: float, large_mb: float, workdir: Path) -> None:
    """Peak memory cleaning a corpus ten times larger than another."""
    small, large = workdir / "small.jsonl", workdir / "large.jsonl"
    small_rows = build_corpus(small, texts, int(small_mb * 2**20))
    large_rows = build_corpus(large, texts, int(large_mb * 2**20))
    peaks = {}
    say("")
    for name, path, rows in (("small", small, small_rows), ("large", large, large_rows)):
        wall, peak, tree = run_peak(["clean", str(path), "-o", str(workdir / "out.jsonl"), "--jobs", "1"])
        peaks[name] = peak
        size = path.stat().st_size / 2**20
        say(
            f"peak memory, clean {size:,.0f} MB ({rows:,} rows, --jobs 1): "
            f"{peak:,.0f} MB (all processes {tree:,.0f} MB; {wall:.1f} s)"
        )
        (workdir / "out.jsonl").unlink(missing_ok=True)
        path.unlink()
    figures.update(memory_small_mb=peaks["small"], memory_large_mb=peaks["large"], memory_ratio=peaks["large"] / peaks["small"])
    say(f"  {large_mb / small_mb:.0f}× the input: {figures['memory_ratio']:.2f}× the peak memory")


def jobs_speedup(
    figures: dict[str, Any], texts: list[str], sizes_mb: Sequence[float], repeats: int, cores: int, workdir: Path
) -> None:
    """``--jobs 2`` against ``--jobs 1`` on corpora of each size, with the CPU each got
    (the machine may be shared). The target is judged on the largest: a corpus job is
    long, and what a parallel run pays once (starting its workers, each loading the
    model) weighs on a short run only. Two sizes or more also split each run's time
    into that fixed part and a rate, by a straight line through the medians."""
    python = sys.executable
    measured: list[dict[str, float]] = []
    for size_mb in sorted(set(sizes_mb)):  # one run per size: two would split nothing
        corpus = workdir / "jobs.jsonl"
        rows = build_corpus(corpus, texts, int(size_mb * 2**20))
        megabytes = corpus.stat().st_size / 2**20
        runs: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
        for _ in range(repeats):  # alternated, so that other load falls on both alike
            for jobs in (1, 2):
                out = workdir / f"jobs{jobs}.jsonl"
                runs[jobs].append(
                    run_tree([python, "-m", "classifier", "clean", str(corpus), "-o", str(out), "--jobs", str(jobs)])
                )
        seconds = {jobs: statistics.median(run[0] for run in runs[jobs]) for jobs in runs}
        cpu = {jobs: statistics.median(run[1] for run in runs[jobs]) for jobs in runs}
        main_cpu = statistics.median(run[2] for run in runs[2])
        measured.append(
            {
                "mb": megabytes,
                "rows": rows,
                "jobs1_s": seconds[1],
                "jobs2_s": seconds[2],
                "speedup": seconds[1] / seconds[2],
                "jobs1_cpu_s": cpu[1],
                "jobs2_cpu_s": cpu[2],
            }
        )
        say(
            f"\n--jobs on {megabytes:,.0f} MB ({rows:,} rows), median of {repeats}: "
            f"--jobs 1 {seconds[1]:.1f} s, --jobs 2 {seconds[2]:.1f} s: {seconds[1] / seconds[2]:.2f}×"
        )
        say(
            f"  CPU seconds, all processes: --jobs 1 {cpu[1]:.1f}, --jobs 2 {cpu[2]:.1f} "
            f"(of which the reading and writing process {main_cpu:.1f}); cores obtained: "
            f"--jobs 1 {cpu[1] / seconds[1]:.2f}, --jobs 2 {cpu[2] / seconds[2]:.2f} of {cores}"
        )
    largest = measured[-1]
    figures.update(
        jobs_sizes=measured,
        jobs_mb=largest["mb"],
        jobs1_s=largest["jobs1_s"],
        jobs2_s=largest["jobs2_s"],
        jobs2_speedup=largest["speedup"],
        jobs1_cpu_s=largest["jobs1_cpu_s"],
        jobs2_cpu_s=largest["jobs2_cpu_s"],
    )
    if len(measured) >= 2:
        small, large = measured[0], measured[-1]
        span = large["mb"] - small["mb"]
        per_mb = {jobs: (large[f"jobs{jobs}_s"] - small[f"jobs{jobs}_s"]) / span for jobs in (1, 2)}
        fixed = {jobs: small[f"jobs{jobs}_s"] - per_mb[jobs] * small["mb"] for jobs in (1, 2)}
        figures.update(jobs_fixed_s=fixed, jobs_rate_speedup=per_mb[1] / per_mb[2])
        say(
            f"  fixed part of a run: --jobs 1 {fixed[1]:.2f} s, --jobs 2 {fixed[2]:.2f} s; beyond it, "
            f"--jobs 2 cleans {per_mb[1] / per_mb[2]:.2f}× as many MB a second"
        )


def report_targets(figures: dict[str, Any]) -> None:
    say("\ntargets (issue 4):")
    checks: list[tuple[str, str, bool]] = []
    if "rates" in figures:
        per_core = figures["rates"]["batched"]["wall"]
        checks += [
            (
                "classify ≥ 50,000 ¶/s per core",
                f"{per_core:,.0f} (CPU {figures['rates']['batched']['cpu']:,.0f})",
                per_core >= TARGETS["classify_per_core"],
            ),
            (
                "adds ≤ 5% to trafilatura",
                f"{figures['trafilatura_overhead']:.1%}",
                figures["trafilatura_overhead"] <= TARGETS["trafilatura_overhead"],
            ),
            (
                "within 20× the read+split floor",
                f"{figures['floor_ratio']:.1f}×",
                figures["floor_ratio"] <= TARGETS["floor_ratio"],
            ),
            ("within 3× the C4-style filter", f"{figures['c4_ratio']:.1f}×", figures["c4_ratio"] <= TARGETS["c4_ratio"]),
        ]
    if "cold_start_s" in figures:
        checks.append(
            ("cold start < 0.5 s", f"{figures['cold_start_s']:.3f} s", figures["cold_start_s"] < TARGETS["cold_start_s"])
        )
    if "cold_start_previous_s" in figures:
        checks.append(
            (
                f"cold start no slower than {figures['previous_release']}",
                f"{figures['cold_start_module_s']:.3f} s vs {figures['cold_start_previous_s']:.3f} s",
                figures["cold_start_module_s"] <= figures["cold_start_previous_s"] * 1.05,
            )
        )
    if "memory_ratio" in figures:
        checks.append(
            (
                "peak memory 10× corpus within 10%, < 500 MB",
                f"{figures['memory_ratio']:.2f}×, {figures['memory_large_mb']:,.0f} MB",
                figures["memory_ratio"] <= TARGETS["memory_ratio"] and figures["memory_large_mb"] < TARGETS["memory_mb"],
            )
        )
    if "jobs2_speedup" in figures:
        checks.append(
            (
                "--jobs 2 ≥ 1.8× --jobs 1",
                f"{figures['jobs2_speedup']:.2f}× on {figures['jobs_mb']:,.0f} MB",
                figures["jobs2_speedup"] >= TARGETS["jobs2_speedup"],
            )
        )
    dask_seconds = figures.get("dask_seconds", {})
    if 16 in dask_seconds and 1 in dask_seconds:
        speedup = dask_seconds[1] / dask_seconds[16]
        checks.append(("Dask 16 workers ≥ 12× one worker", f"{speedup:.1f}×", speedup >= TARGETS["dask16_speedup"]))
    for label, value, met in checks:
        say(f"  {'met  ' if met else 'SHORT'}  {label:<46}{value}")
    if 16 not in dask_seconds:
        say(f"  n/a    {'Dask 16 workers ≥ 12× one worker':<46}needs a 16-core machine (--dask-workers 1,4,16)")


if __name__ == "__main__":
    raise SystemExit(main())
