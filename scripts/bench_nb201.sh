#!/usr/bin/env bash
# Kendall tau of np, hypernas-p and hypernas on NB201 CIFAR-10 at several budgets and seeds, with the
# CLI's defaults (300 epochs, batch 10, Adam 1e-3, cosine). Two runs at a time, one thread each.
# Usage: scripts/bench_nb201.sh OUT_FILE [BUDGETS] [SEEDS] [METHODS] [EXTRA CLI FLAGS...]
set -euo pipefail
out=${1:?usage: bench_nb201.sh OUT_FILE [BUDGETS] [SEEDS] [METHODS] [FLAGS...]}
budgets=${2:-"78 156"}
seeds=${3:-"0 1 2"}
methods=${4:-"np hypernas-p hypernas"}
shift $(( $# < 4 ? $# : 4 ))
extra="$*"
jobs=()
for method in $methods; do
    for budget in $budgets; do
        for seed in $seeds; do
            jobs+=("--method $method --budget $budget --seed $seed")
        done
    done
done
printf '%s\n' "${jobs[@]}" | xargs -P "${PARALLEL:-2}" -I{} sh -c \
    "python -m hypernas_core train --space nb201 {} --threads 1 --device cpu --json $extra | tail -n 1 >> '$out'"
