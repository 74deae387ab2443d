"""Chooses training settings (lr, weight decay, dropout, ranking-loss weight) by validation on the
training archs only.

For each seed, the CLI's training split of `--budget` archs is split again into 75 % inner-train
and 25 % inner-validation archs; a predictor is trained on the first and its Kendall tau measured
on the second. The archs outside the training split (the test set) are never read.

    python scripts/tune_lr.py --method np --budget 156 --seeds 0,1 --lrs 1e-4,3e-4,1e-3,3e-3 --wds 0,1e-4,1e-3
    python scripts/tune_lr.py --method np --budget 78 --seeds 0-4 --lrs 1e-3 --wds 0 --rank-weights 0,0.3,1,3
    python scripts/tune_lr.py --method np --budget 156 --seeds 0-4 --lrs 1e-3 --wds 0 --ensemble 5
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
import torch

from hypernas_core import Predictor, PredictorEnsemble, get_space, kendall_tau, method_config
from hypernas_core.benchmark import parse_int_list, split_archs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="np")
    parser.add_argument("--budget", type=int, default=156)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--lrs", default="1e-4,3e-4,1e-3,3e-3")
    parser.add_argument("--wds", default="0,1e-4,1e-3")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dropouts", default="0.1", help="encoder dropouts to try")
    parser.add_argument("--rank-weights", default="0", help="pairwise ranking-loss weights to try")
    parser.add_argument(
        "--ensemble", type=int, default=1, help="members per predictor; >1 also reports each member"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = get_space("nb201")
    for seed, lr, wd, dropout, rank_weight in itertools.product(
        parse_int_list(args.seeds),
        [float(x) for x in args.lrs.split(",")],
        [float(x) for x in args.wds.split(",")],
        [float(x) for x in args.dropouts.split(",")],
        [float(x) for x in args.rank_weights.split(",")],
    ):
        train, _test = split_archs("nb201", args.budget, seed)  # the CLI's split; test unread
        inner = np.random.default_rng(1000 + seed).permutation(len(train))
        cut = int(0.75 * len(train))
        fit_archs = [train[i] for i in inner[:cut]]
        val_archs = [train[i] for i in inner[cut:]]
        config = method_config(
            args.method,
            train={
                "lr": lr,
                "weight_decay": wd,
                "rank_weight": rank_weight,
                "epochs": args.epochs,
                "seed": seed,
            },
            encoder={"dropout": dropout},
        )
        true = space.labels(val_archs)
        if args.ensemble > 1:
            predictor = PredictorEnsemble(config, args.ensemble)
            seconds = sum(h.train_seconds for h in predictor.fit(fit_archs))
            members = predictor.member_predictions(val_archs).numpy()
            member_taus = [round(kendall_tau(true, m), 4) for m in members]
            predicted = members.mean(axis=0)
        else:
            predictor = Predictor(config)
            seconds = predictor.fit(fit_archs).train_seconds
            predicted = predictor.predict(val_archs).numpy()
        tau = kendall_tau(true, predicted)
        row = {
            "method": args.method,
            "seed": seed,
            "lr": lr,
            "weight_decay": wd,
            "dropout": dropout,
            "rank_weight": rank_weight,
            "val_tau": round(tau, 4),
        }
        if args.ensemble > 1:
            row["ensemble"] = args.ensemble
            row["member_val_taus"] = member_taus
            row["member_mean_val_tau"] = round(float(np.mean(member_taus)), 4)
        row["train_seconds"] = round(seconds, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
