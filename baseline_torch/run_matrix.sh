#!/usr/bin/env bash
# Runs every baseline tool once on one device and collects the JSON/PNG under one directory: the
# command behind baseline_torch/results/<device>/ (on a GPU machine: the full matrix of issue 4).
# Usage: baseline_torch/run_matrix.sh DEVICE OUTDIR [FLAGS FOR EVERY TOOL, e.g. --limit 5000]
set -uo pipefail
device=${1:?device: cpu or cuda}; out=${2:?output directory}; shift 2
cd "$(dirname "$0")/.."
failed=()
run() {
  local tool=$1; shift
  echo "== python -m baseline_torch.$tool --device $device --out $out/$tool $*"
  python -m "baseline_torch.$tool" --device "$device" --out "$out/$tool" "$@" || failed+=("$tool")
}
run lenet_mnist --epochs 10 "$@"
run compare "$@"
run parallel --epochs 2 "$@"
run amp --epochs 2 "$@"
run backends "$@"
run profile "$@"
run cifar10 --compare-regularizers --epochs 15 "$@"
if ((${#failed[@]})); then echo "failed: ${failed[*]}"; exit 1; fi
echo "all tools finished; results under $out"
