#!/usr/bin/env bash
# The whole GPU verification for the device tool, in as few calls as possible: build for the GPU at
# hand, run the CUDA tests, train LeNet-5 on the GPU, run the GPU benchmarks against PyTorch, then
# compute-sanitizer (memcheck, racecheck) over a short training run and the Python device=cuda tests.
#
#   bash tools/prepare_gpu_carry.sh                  # here, once: fills gpu_data/ and gpu_deps/
#   run: bash tools/gpu_check.sh [STAGE ...]         # carry ["gpu_data", "gpu_deps"]
#
# STAGEs (default: all, in this order, most valuable first): build ctest train bench sanitize pytest.
# A device call may run 10 minutes, so every stage runs under `timeout` against one deadline
# (GPU_CHECK_BUDGET seconds, default 540) and stages that no longer fit are skipped and listed;
# run the script again naming them (a warm machine keeps build-gpu/, a fresh one rebuilds).
# Logs accumulate in gpu_out/ (git-ignored, kept on a warm machine). The device tool returns at most
# 8 files from $OUT, so $OUT gets summary.txt, the bench JSON files and one gpu_check_logs.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
budget="${GPU_CHECK_BUDGET:-540}"
logs="$PWD/gpu_out"
mkdir -p "$logs"
export DLCORE_DATA="${DLCORE_DATA:-$PWD/gpu_data}"
export PYTHONUNBUFFERED=1
summary="$logs/summary.txt"
skipped=()

log() { echo "== $*" | tee -a "$summary"; }
left() { echo $((budget - (SECONDS - start))); }
# step NAME MIN_SECONDS command...: runs it under the time left, keeps its output, records the result.
step() {
  local name=$1 need=$2; shift 2
  if [ "$(left)" -lt "$need" ]; then
    log "$name: skipped, $(left) s left of the budget and it needs about $need s"
    skipped+=("$name")
    return 1
  fi
  log "$name: $*"
  local t0=$SECONDS rc=0
  timeout --kill-after=10 "$(left)" "$@" >"$logs/$name.log" 2>&1 || rc=$?
  tail -n 20 "$logs/$name.log"
  if [ $rc -eq 0 ]; then log "$name: ok ($((SECONDS - t0)) s)"; else log "$name: FAILED rc=$rc ($((SECONDS - t0)) s)"; fi
  return $rc
}

stage_build() {
  local arch tests=OFF extra=()
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
  if [ -d gpu_deps/gtest ]; then
    tests=ON
    extra+=(-DGTest_ROOT="$PWD/gpu_deps/gtest" -DGTEST_ROOT="$PWD/gpu_deps/gtest")
  fi
  # pybind11 >= 3 (smart_holder): the image's own may be older, so prefer the carried copy.
  [ -d gpu_deps/pybind11 ] && extra+=(-Dpybind11_DIR="$PWD/gpu_deps/pybind11/share/cmake/pybind11")
  step configure 60 cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLCORE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${arch:-90}-real" -DDLCORE_BUILD_TESTS=$tests "${extra[@]}" \
    -DPython_EXECUTABLE="$(command -v python3)" &&
    step compile 60 cmake --build build-gpu -j "$(nproc)"
}
stage_ctest() {
  if [ -d gpu_deps/gtest ]; then step ctest 30 ctest --test-dir build-gpu --output-on-failure -j 4
  else log "ctest: skipped, no gpu_deps/gtest (run tools/prepare_gpu_carry.sh and carry gpu_deps)"; fi
}
stage_train() {
  step train_cuda 60 python3 python/train_mnist.py --device cuda --epochs 10 --no-progress --out "$logs/train_cuda"
  step train_cuda_graph 60 python3 python/train_mnist.py --device cuda --cuda-graph --epochs 10 --no-progress \
    --out "$logs/train_cuda_graph"
}
stage_bench() {
  step bench_lenet 60 python3 bench/lenet_train.py --device cuda --threads "$(nproc)" --repeats 5
  step bench_kernels 30 python3 bench/gpu_kernels.py
}
stage_sanitize() {
  step memcheck 60 compute-sanitizer --tool memcheck --error-exitcode 1 python3 python/train_mnist.py \
    --device cuda --epochs 1 --limit 512 --no-progress --out "$logs/memcheck_run"
  step racecheck 60 compute-sanitizer --tool racecheck --error-exitcode 1 python3 \
    python/train_mnist.py --device cuda --epochs 1 --limit 128 --batch-size 64 --test-batch-size 128 \
    --no-progress --out "$logs/racecheck_run"
}
stage_pytest() {
  step pytest 60 python3 -m pytest -q -rfE -p no:cacheprovider tests_py --ignore-glob='tests_py/test_baseline_*'
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(build ctest train bench sanitize pytest)
for s in "${stages[@]}"; do
  case "$s" in
    build|ctest|train|bench|sanitize|pytest) ;;
    *) echo "gpu_check.sh: unknown stage '$s' (build ctest train bench sanitize pytest)" >&2; exit 2 ;;
  esac
done

{ date -u; nvidia-smi; nvcc --version; python3 -c 'import torch; print("torch", torch.__version__)'; } \
  >"$logs/machine.txt" 2>&1
head -n 15 "$logs/machine.txt"
export PYTHONPATH="$PWD/python"
for s in "${stages[@]}"; do
  # Everything after build needs the extension: stop early rather than fail every later stage.
  if [ "$s" = build ]; then stage_build || { log "build failed: later stages skipped"; break; }; continue; fi
  if ! ls python/dlcore/_C*.so >/dev/null 2>&1; then log "$s: skipped, no built extension (run the build stage)"; continue; fi
  "stage_$s"
done
[ ${#skipped[@]} -gt 0 ] && log "out of time; run again with: bash tools/gpu_check.sh ${skipped[*]}"
log "finished in $((SECONDS - start)) s"

if [ -n "${OUT:-}" ]; then  # the device tool's folder: few files, so one archive holds the logs
  cp "$summary" "$OUT/"
  cp bench/results/lenet_train_cuda.json bench/results/gpu_kernels.json "$OUT/" 2>/dev/null
  tar -czf "$OUT/gpu_check_logs.tar.gz" -C "$logs" . 2>/dev/null
fi
