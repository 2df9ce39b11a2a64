#!/usr/bin/env bash
# The whole GPU verification in one call (for the device tool): build for the GPU at hand, run the
# CUDA tests (C++ when GoogleTest was carried in gpu_deps/, and the Python device=cuda tests),
# compute-sanitizer memcheck and racecheck over a short training run, full LeNet-5 training on the
# GPU, and the GPU benchmarks against PyTorch. Everything lands in $OUT (default ./gpu_out).
# Data and GoogleTest: run tools/prepare_gpu_carry.sh here first, then name gpu_data and gpu_deps in `carry`.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
export DLCORE_DATA="${DLCORE_DATA:-$PWD/gpu_data}"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
step() {  # step NAME command...: runs it, keeps its output, records pass/fail
  local name=$1; shift
  log "$name: $*"
  if "$@" >"$OUT/$name.log" 2>&1; then log "$name: ok"; else log "$name: FAILED ($?)"; fi
  tail -n 25 "$OUT/$name.log"
}

nvidia-smi | tee "$OUT/nvidia-smi.txt"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
tests=OFF
gtest_args=()
if [ -d gpu_deps/gtest ]; then
  tests=ON
  gtest_args=(-DGTest_ROOT="$PWD/gpu_deps/gtest" -DGTEST_ROOT="$PWD/gpu_deps/gtest")
fi
step build cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLCORE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${arch}-real" -DDLCORE_BUILD_TESTS=$tests "${gtest_args[@]}" \
  -DPython_EXECUTABLE="$(command -v python3)"
step compile cmake --build build-gpu -j "$(nproc)"
if [ "$tests" = ON ]; then
  step ctest ctest --test-dir build-gpu --output-on-failure
fi
export PYTHONPATH="$PWD/python"
step pytest python3 -m pytest -q tests_py --ignore-glob='tests_py/test_baseline_*' -x
step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 python3 python/train_mnist.py --device cuda \
  --epochs 1 --limit 1024 --no-progress --out "$OUT/sanitizer_run"
step racecheck compute-sanitizer --tool racecheck --error-exitcode 1 python3 python/train_mnist.py --device cuda \
  --epochs 1 --limit 256 --no-progress --out "$OUT/sanitizer_run_race"
step train_cuda python3 python/train_mnist.py --device cuda --epochs 10 --no-progress --out "$OUT/train_cuda"
step bench_lenet python3 bench/lenet_train.py --device cuda --threads "$(nproc)" --repeats 5
step bench_kernels python3 bench/gpu_kernels.py
cp bench/results/*.json "$OUT/" 2>/dev/null
log "done; results in $OUT"
