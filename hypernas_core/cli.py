"""Command line: `python -m hypernas_core {spaces,train,bench,predict,search,labels,label}`.

Flags are parsed here and turned into the config dataclasses; nothing else in the library reads
command-line arguments. Errors in user input exit with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from hypernas_core import arch_file
from hypernas_core.arch_file import ArchFile
from hypernas_core.benchmark import (
    BACKENDS,
    grouping_columns,
    markdown_table,
    parse_int_list,
    run_ranking,
    run_sweep,
    summarise,
    with_key_defaults,
)
from hypernas_core.config import AUX_DATASETS, DEVICES, METHODS, PredictorConfig, method_config
from hypernas_core.label_import import rank_on_labels, read_label_file
from hypernas_core.label_training import (
    SCORE_COLUMN,
    LabelStore,
    LabelTrainingConfig,
    label_archs,
)
from hypernas_core.predictor import Predictor
from hypernas_core.run_store import RunStore
from hypernas_core.search import STRATEGIES, SearchConfig, run_search
from hypernas_core.search_space import SearchSpace, get_space, list_spaces
from hypernas_core.space_scan import score_to_csv
from hypernas_core.speed import measure_speed

logger = logging.getLogger(__name__)

MAX_ARCHS = arch_file.MAX_ROWS  # rows per arch file (50 MB at most, arch_file.MAX_FILE_BYTES)


class UserError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def _finite(value):
    """`value` with every NaN or inf float replaced by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value, **kwargs) -> str:
    """Strict JSON of a result: undefined figures (e.g. Kendall tau of constant predictions) are null."""
    return json.dumps(_finite(value), allow_nan=False, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hypernas_core", description=__doc__.splitlines()[0]
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("spaces", help="list the search spaces, their sizes and label columns")

    train = sub.add_parser("train", help="train on `budget` sampled archs, evaluate on all others")
    train.add_argument("--space", default="nb201", help="search space (see `spaces`)")
    train.add_argument("--method", default="hypernas", choices=METHODS)
    train.add_argument("--budget", type=int, default=156, help="number of labelled training archs")
    train.add_argument("--seed", type=int, default=0, help="seeds the split, init and batches")
    train.add_argument("--target", default=None, help="label column (default: the space's)")
    train.add_argument("--q", type=float, default=None, help="preference coefficient q (> 1)")
    train.add_argument(
        "--rank-weight", type=float, default=None, help="weight of the pairwise ranking loss (>= 0)"
    )
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--lr", type=float, default=None)
    train.add_argument("--weight-decay", type=float, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--encoding", default=None, help="override: cell, global or global-pe")
    train.add_argument(
        "--target-width", type=int, default=None, help="target-net first-stage width"
    )
    train.add_argument("--aux", default=None, choices=AUX_DATASETS, help="aux image dataset")
    train.add_argument("--aux-root", default=None, help="folder of a local CIFAR-10 python copy")
    train.add_argument(
        "--aux-download", action="store_true", help="download CIFAR-10 into --aux-root if missing"
    )
    train.add_argument("--device", default="auto", choices=DEVICES)
    train.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    train.add_argument("--out", default=None, help="folder to save the checkpoint and predictions")
    train.add_argument("--json", action="store_true", help="print the result as one JSON line last")
    train.add_argument(
        "--store",
        nargs="?",
        const="",
        default=None,
        help="record the run in the run store (folder; default $HYPERNAS_STORE or the user data dir)",
    )

    bench = sub.add_parser("bench", help="benchmark sweeps").add_subparsers(
        dest="bench", required=True
    )
    ranking = bench.add_parser("ranking", help="methods x budgets x seeds on identical splits")
    ranking.add_argument("--space", default="nb201")
    ranking.add_argument("--methods", default="np,hypernas-p,hypernas", help="comma-separated")
    ranking.add_argument("--budgets", default="78,156", help="e.g. 39,78,156 or 50-60")
    ranking.add_argument("--seeds", default="0-2", help="e.g. 0-4 or 0,3")
    ranking.add_argument("--target", default=None)
    ranking.add_argument("--epochs", type=int, default=None)
    ranking.add_argument("--q", type=float, default=None)
    ranking.add_argument(
        "--rank-weight", type=float, default=None, help="weight of the pairwise ranking loss (>= 0)"
    )
    ranking.add_argument(
        "--ensemble", type=int, default=1, help="predictors per run, averaged (seeds differ)"
    )
    ranking.add_argument(
        "--unlabelled-archs",
        type=int,
        default=None,
        help="hypernas: unlabelled archs per step that train the aux task only (default 0)",
    )
    ranking.add_argument(
        "--encoding", default=None, help="override the methods' encoding: cell, global, global-pe"
    )
    ranking.add_argument("--device", default="auto", choices=DEVICES)
    ranking.add_argument("--workers", type=int, default=1, help="runs at a time (processes)")
    ranking.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ranking.add_argument("--out", required=True, help="folder for runs.csv and summary.md")
    ranking.add_argument(
        "--backend",
        default="local",
        choices=BACKENDS,
        help="local: this machine (--workers processes); ray: Ray tasks (optional extra)",
    )
    ranking.add_argument(
        "--address",
        default=None,
        help="with --backend ray: cluster to join, e.g. ray://head:10001 (default: local Ray)",
    )
    ranking.add_argument(
        "--store",
        nargs="?",
        const="",
        default=None,
        help="also record each result in the run store (folder; default as for train --store)",
    )
    speed = bench.add_parser(
        "speed", help="train time per method, whole-space scoring rate, UMAP time, peak memory"
    )
    speed.add_argument("--space", default="nb201")
    speed.add_argument("--methods", default="np,hypernas-p,hypernas", help="comma-separated")
    speed.add_argument("--budget", type=int, default=78, help="training archs")
    speed.add_argument("--epochs", type=int, default=5, help="epochs per method (equal for all)")
    speed.add_argument("--seed", type=int, default=0)
    speed.add_argument("--device", default="auto", choices=DEVICES)
    speed.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    speed.add_argument("--no-umap", action="store_true", help="skip the full-space UMAP timing")
    speed.add_argument("--json", action="store_true", help="print the report as one JSON line")
    speed.add_argument("--out", default=None, help="markdown file to write the report to")
    table = bench.add_parser("table", help="markdown summary of a results CSV or JSON-lines file")
    table.add_argument("--results", required=True, help="runs.csv, or JSON lines from train --json")
    table.add_argument("--out", default=None, help="markdown file to write (default: stdout)")
    table.add_argument(
        "--by",
        default=None,
        help="columns to group by, e.g. method,q,budget (default: method, budget and every "
        "setting (epochs, encoding, q, rank_weight, ensemble, unlabelled_archs) that differs)",
    )

    predict = sub.add_parser("predict", help="score archs with a saved checkpoint")
    predict.add_argument("--checkpoint", required=True, help="folder written by `train --out`")
    predict.add_argument("--archs", required=True, help="CSV (column 'arch') or JSON list of archs")
    predict.add_argument("--out", default=None, help="CSV to write (default: stdout)")
    predict.add_argument(
        "--rejects", default=None, help="CSV to write every rejected row to (row, value, reason)"
    )
    predict.add_argument(
        "--chunk-size", type=int, default=4096, help="archs encoded and scored at a time"
    )
    predict.add_argument("--device", default="cpu", choices=DEVICES)

    labels = sub.add_parser("labels", help="import labels from CSV/JSON; optionally train on them")
    labels.add_argument("--space", required=True, help="search space of the archs")
    labels.add_argument("--file", required=True, help="CSV or JSON: 'arch' plus score columns")
    labels.add_argument("--ignore", default="", help="comma-separated columns to drop unchecked")
    labels.add_argument("--out", default=None, help="CSV to write the accepted rows to")
    labels.add_argument("--rejected", default=None, help="CSV to write the rejected rows to")
    labels.add_argument("--train-budget", type=int, default=None, help="train on this many")
    labels.add_argument("--column", default=None, help="score column to train on (default: first)")
    labels.add_argument("--method", default="np", choices=METHODS)
    labels.add_argument("--epochs", type=int, default=None)
    labels.add_argument("--seed", type=int, default=0)
    labels.add_argument("--device", default="auto", choices=DEVICES)
    labels.add_argument("--checkpoint-out", default=None, help="folder to save the predictor")

    label = sub.add_parser("label", help="label archs by really training them on the aux images")
    label.add_argument("--space", required=True, help="search space of the archs")
    label.add_argument("--store", required=True, help="folder of the label store (reused)")
    label.add_argument("--n", type=int, default=None, help="sample this many archs to label")
    label.add_argument("--sample-seed", type=int, default=0, help="seed of the sampled archs")
    label.add_argument("--archs", default=None, help="or a CSV/JSON file of archs to label")
    label.add_argument("--epochs", type=int, default=5)
    label.add_argument("--width", type=int, default=4, help="target-net width of the trained net")
    label.add_argument("--batch-size", type=int, default=64)
    label.add_argument("--lr", type=float, default=0.05)
    label.add_argument("--seed", type=int, default=0, help="seeds weights and batch order")
    label.add_argument("--aux", default="digits", choices=AUX_DATASETS, help="aux image dataset")
    label.add_argument("--aux-root", default=None, help="folder of a local CIFAR-10 python copy")
    label.add_argument("--device", default="auto", choices=DEVICES)
    label.add_argument("--export", default=None, help="CSV (arch, aux_test_acc) for `labels`")

    search = sub.add_parser("search", help="predictor-guided search (evolution or random)")
    search.add_argument("--space", required=True, help="search space; must match the checkpoint")
    search.add_argument("--checkpoint", required=True, help="folder written by `train --out`")
    search.add_argument("--budget", type=int, required=True, help="queries (archs scored)")
    search.add_argument("--strategy", default="evolution", choices=STRATEGIES)
    search.add_argument("--seed", type=int, default=0)
    search.add_argument("--population", type=int, default=20, help="evolution: population size")
    search.add_argument("--sample-size", type=int, default=5, help="evolution: tournament size")
    search.add_argument("--top", type=int, default=10, help="best predicted archs to report")
    search.add_argument("--device", default="cpu", choices=DEVICES)
    search.add_argument("--out", default=None, help="folder for history.csv, top.csv, summary.json")
    search.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    return parser


def cmd_spaces(_: argparse.Namespace) -> None:
    for name in list_spaces():
        space = get_space(name)
        print(f"{name}\t{space.title}\tsize={space.size}\tdefault_label={space.default_label}")
        print(f"\tlabels: {', '.join(space.label_columns)}")


def _train_config(args: argparse.Namespace) -> PredictorConfig:
    train = {"seed": args.seed, "device": args.device}
    for flag, name in (
        ("q", "q"),
        ("rank_weight", "rank_weight"),
        ("epochs", "epochs"),
        ("lr", "lr"),
        ("weight_decay", "weight_decay"),
        ("batch_size", "batch_size"),
    ):
        if getattr(args, flag) is not None:
            train[name] = getattr(args, flag)
    hypernet = {}
    if args.target_width is not None:
        hypernet["target_width"] = args.target_width
    if args.aux is not None:
        hypernet["aux_dataset"] = args.aux
    if args.aux_root is not None:
        hypernet["aux_root"] = args.aux_root
    if args.aux_download:
        hypernet["aux_download"] = True
    overrides = {"space": args.space, "target": args.target, "train": train, "hypernet": hypernet}
    if args.encoding is not None:
        overrides["encoder"] = {"encoding": args.encoding}
    return method_config(args.method, **overrides)


def cmd_train(args: argparse.Namespace) -> dict:
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = _train_config(args)
    if args.store is None:
        run = run_ranking(config, args.budget, on_step=_log_epoch)
    else:
        run = _stored_ranking(config, args)
    result = run.result
    if args.out:
        out = run.predictor.save(args.out)
        pd.DataFrame({"arch": run.test_archs, "true": run.true, "predicted": run.predicted}).to_csv(
            out / "test_predictions.csv", index=False
        )
        (out / "result.json").write_text(_json(result, indent=2))
    if args.json:
        print(_json(result))
    else:
        for key, value in result.items():
            print(f"{key:>26}: {value}")
    return result


def _parse_methods(text: str) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()]
    for method in methods:
        if method not in METHODS:
            raise UserError(f"unknown method {method!r} in --methods; valid: {', '.join(METHODS)}")
    if not methods:
        raise UserError(f"--methods names no method (got {text!r}); valid: {', '.join(METHODS)}")
    return methods


def cmd_bench_speed(args: argparse.Namespace) -> None:
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    report = measure_speed(
        space=args.space,
        methods=_parse_methods(args.methods),
        budget=args.budget,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        with_umap=not args.no_umap,
        on_progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    text = report.markdown()
    if args.out:
        Path(args.out).write_text(text)
    print(text, end="")
    if args.json:
        print(_json(report.as_dict()))


def _stored_ranking(config: PredictorConfig, args: argparse.Namespace):
    """`run_ranking`, recorded in the run store epoch by epoch, with its weights at the end."""
    store = RunStore(args.store or None)
    title = f"{config.method} budget={args.budget} seed={args.seed}"
    spec = {"budget": args.budget, "seed": args.seed, "command": "train"}
    run_id = store.create_run("cli", title, spec, config.to_dict())

    def on_step(epoch: int, total: int, metrics: dict[str, float]) -> None:
        _log_epoch(epoch, total, metrics)
        store.append_epoch(run_id, metrics)

    try:
        run = run_ranking(config, args.budget, on_step=on_step)
    except BaseException as err:  # Ctrl-C too: the run must not stay "running"
        store.finish_run(run_id, "failed", f"{type(err).__name__}: {err}")
        raise
    history = run.predictor.history
    store.finish_run(run_id, history.status, history.message, run.result, predictor=run.predictor)
    logger.info("recorded as run %d in %s", run_id, store.root)
    return run


def cmd_bench(args: argparse.Namespace) -> None:
    if args.bench == "speed":
        cmd_bench_speed(args)
        return
    if args.bench == "table":
        results = _read_results(Path(args.results))
        by = (
            grouping_columns(results)
            if args.by is None
            else [c.strip() for c in args.by.split(",") if c.strip()]
        )
        text = markdown_table(summarise(results, by), by)
        if args.out:
            Path(args.out).write_text(text)
        else:
            print(text, end="")
        return
    methods = _parse_methods(args.methods)
    train = {"device": args.device}
    if args.epochs is not None:
        train["epochs"] = args.epochs
    if args.q is not None:
        train["q"] = args.q
    if args.rank_weight is not None:
        train["rank_weight"] = args.rank_weight
    overrides = {"target": args.target, "train": train}
    if args.unlabelled_archs is not None:
        overrides["hypernet"] = {"unlabelled_archs": args.unlabelled_archs}
    if args.encoding is not None:
        overrides["encoder"] = {"encoding": args.encoding}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def show(result: dict) -> None:
        print(_json(result), flush=True)

    results = run_sweep(
        args.space,
        methods,
        parse_int_list(args.budgets),
        parse_int_list(args.seeds),
        out / "runs.csv",
        overrides=overrides,
        workers=args.workers,
        threads=args.threads,
        on_result=show,
        ensemble=args.ensemble,
        backend=args.backend,
        address=args.address,
        store=None if args.store is None else RunStore(args.store or None),
    )
    by = grouping_columns(results)
    (out / "summary.md").write_text(markdown_table(summarise(results, by), by))
    print(f"wrote {out / 'runs.csv'} and {out / 'summary.md'}")


def _read_results(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"results file {str(path)!r} does not exist")
    if path.suffix == ".csv":
        return with_key_defaults(pd.read_csv(path))
    try:
        return with_key_defaults(pd.read_json(path, lines=True))
    except ValueError as err:
        raise UserError(f"results file {str(path)!r} is neither CSV nor JSON lines: {err}") from err


def _log_epoch(epoch: int, total: int, metrics: dict[str, float]) -> None:
    if epoch == total or epoch % max(1, total // 10) == 0:
        losses = ", ".join(
            f"{k}={v:.4f}" for k, v in metrics.items() if k.startswith(("loss_", "aux_acc"))
        )
        logger.info("epoch %d/%d %s", epoch, total, losses)


def read_arch_file(path: str | Path, space: SearchSpace | None = None) -> ArchFile:
    """Reads archs of `space` (default nb201) from a CSV or JSON file (see `arch_file`).

    Raises:
        UserError: for a missing, oversized or malformed file.
    """
    try:
        return arch_file.read_arch_file(path, space or get_space("nb201"), max_rows=MAX_ARCHS)
    except arch_file.ArchFileError as err:
        raise UserError(str(err)) from None


def cmd_predict(args: argparse.Namespace) -> None:
    try:
        predictor = Predictor.load(args.checkpoint, device=args.device)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"cannot load checkpoint: {err}") from err
    parsed = read_arch_file(args.archs, predictor.space)
    if args.rejects:
        parsed.rejected_frame().to_csv(args.rejects, index=False)
    if parsed.rejected:
        where = f"all of them are in {args.rejects}" if args.rejects else "--rejects FILE lists all"
        raise UserError(
            f"{len(parsed.rejected)} invalid arch(s) in {args.archs} ({where}): "
            + parsed.rejected_summary()
        )
    archs = parsed.archs
    if args.out:  # chunk by chunk: memory stays flat for millions of archs
        written = score_to_csv(predictor, archs, args.out, chunk_size=args.chunk_size)
        print(f"wrote {written} predictions to {args.out}")
        return
    scores = predictor.predict(archs).numpy()
    frame = pd.DataFrame({"arch": archs, f"predicted_{predictor.target}": scores})
    frame.to_csv(sys.stdout, index=False)


def cmd_labels(args: argparse.Namespace) -> None:
    space = get_space(args.space)
    ignore = [c.strip() for c in args.ignore.split(",") if c.strip()]
    imported = read_label_file(space, args.file, ignore)
    print(imported.report())
    if args.out:
        imported.accepted.to_csv(args.out, index=False)
    if args.rejected:
        imported.rejected.to_csv(args.rejected, index=False)
    if args.train_budget is None:
        return
    train = {"seed": args.seed, "device": args.device}
    if args.epochs is not None:
        train["epochs"] = args.epochs
    config = method_config(args.method, space=args.space, train=train)
    result, predictor = rank_on_labels(
        config, imported, args.train_budget, args.column, on_step=_log_epoch
    )
    if args.checkpoint_out:
        out = predictor.save(args.checkpoint_out)
        (out / "result.json").write_text(_json(result, indent=2))
    print(_json(result))


def cmd_label(args: argparse.Namespace) -> None:
    space = get_space(args.space)
    if (args.n is None) == (args.archs is None):
        raise UserError("give either --n (archs to sample) or --archs (a file of archs)")
    if args.n is not None:
        archs = space.sample(args.n, args.sample_seed)
    else:
        parsed = read_arch_file(args.archs, space)
        if parsed.rejected:
            first = parsed.rejected[0]
            raise UserError(
                f"{len(parsed.rejected)} invalid arch(s) in {args.archs}; "
                f"first: row {first.row}: {first.reason}"
            )
        archs = parsed.archs
    config = LabelTrainingConfig(
        epochs=args.epochs,
        width=args.width,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        aux_dataset=args.aux,
        aux_root=args.aux_root,
        device=args.device,
    )
    store = LabelStore(args.store)

    def show(done: int, total: int, row: dict) -> None:
        source = "stored" if row["cached"] else f"{row['seconds']:.1f} s"
        print(
            f"[{done}/{total}] {row['aux_test_acc']:6.2f}%  ({source})  {row['arch']}", flush=True
        )

    start = time.perf_counter()
    table = label_archs(space, archs, config, store, on_step=show)
    seconds = time.perf_counter() - start
    trained = int((~table["cached"]).sum())
    print(
        f"labelled {len(table)} archs ({trained} trained, {len(table) - trained} from the store) "
        f"in {seconds:.1f} s; store: {store.path}"
    )
    if args.export:
        store.table(space.name, config)[["arch", SCORE_COLUMN]].to_csv(args.export, index=False)
        print(f"wrote {args.export}")


def cmd_search(args: argparse.Namespace) -> None:
    try:
        predictor = Predictor.load(args.checkpoint, device=args.device)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"cannot load checkpoint: {err}") from err
    if predictor.config.space != args.space:
        raise UserError(
            f"--space {args.space!r} does not match the checkpoint's space "
            f"{predictor.config.space!r}"
        )
    config = SearchConfig(
        strategy=args.strategy,
        budget=args.budget,
        population=args.population,
        sample_size=args.sample_size,
        seed=args.seed,
        top_k=args.top,
    )
    result = run_search(
        predictor.space,
        lambda archs: predictor.predict(archs).numpy(),
        config,
        target=predictor.target,
        on_step=lambda q, total, m: logger.info("query %d/%d %s", q, total, m),
    )
    summary = {"space": args.space, "target": predictor.target, **result.summary()}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.history.to_csv(out / "history.csv", index=False)
        result.top.to_csv(out / "top.csv", index=False)
        (out / "summary.json").write_text(_json(summary, indent=2))
    if args.json:
        print(_json(summary))
        return
    print(result.top.to_string(index=False))
    for key, value in summary.items():
        print(f"{key:>24}: {value}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    commands = {
        "spaces": cmd_spaces,
        "train": cmd_train,
        "bench": cmd_bench,
        "predict": cmd_predict,
        "search": cmd_search,
        "labels": cmd_labels,
        "label": cmd_label,
    }
    try:
        commands[args.command](args)
    except (UserError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
