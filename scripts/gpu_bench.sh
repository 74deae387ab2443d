#!/usr/bin/env bash
# The speed benchmark and one ranking budget on a CUDA GPU, for a machine that has one.
# Writes OUT_DIR/speed.md, OUT_DIR/speed.json and OUT_DIR/ranking/{runs.csv,summary.md}.
# Usage: scripts/gpu_bench.sh [OUT_DIR]   (default runs/gpu_bench)
# Budget: the speed part trains each method for 20 epochs on 156 archs and scores the whole space;
# the ranking part is np, hypernas-p and hypernas at N=156, seed 0, 300 epochs (the CLI defaults).
# UMAP runs on the CPU whatever the device.
set -euo pipefail
out=${1:-runs/gpu_bench}
mkdir -p "$out"
python - <<'PY'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit(f"no CUDA GPU visible to torch {torch.__version__} (a CPU-only build, or no driver)")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
PY
start=$SECONDS
python -m hypernas_core bench speed --device cuda --budget 156 --epochs 20 \
    --out "$out/speed.md" --json | tail -n 1 > "$out/speed.json"
cat "$out/speed.md"
echo "speed part: $((SECONDS - start)) s"
python -m hypernas_core bench ranking --device cuda --methods np,hypernas-p,hypernas \
    --budgets 156 --seeds 0 --workers 1 --out "$out/ranking"
cat "$out/ranking/summary.md"
echo "total: $((SECONDS - start)) s"
