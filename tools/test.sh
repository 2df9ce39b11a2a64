#!/usr/bin/env bash
# The project's test command (the README's and CI's): builds the engine, the CUDA kernels when nvcc
# is present, the Python module and the GoogleTest suite in build/, then runs ctest (also on a
# CPU-only build when CUDA was found) and pytest. Where no GPU is usable (CI), the CUDA backend's
# tests then run on the CPU emulator (tools/cuda_emulator) in build-emu/: every CUDA kernel against
# the CPU one, the CUDA-graph tests and the multi-device and stream tests (two emulated devices),
# C++ and the Python suite's device=cuda cases (a few minutes; DLCORE_SKIP_EMULATOR=1 skips).
# After build/'s ctest, `pip wheel .` is built in build-wheel/ and installed in a fresh venv there
# (tools/test_wheel.sh).
# Prerequisites are checked first (tools/check_prereqs.py: missing Python packages are installed,
# or named with DLCORE_NO_INSTALL=1; a missing libgtest-dev is named in one line). Every Python stage
# runs with tools/isolate on PYTHONPATH, whose sitecustomize removes the import redirect a
# `pip install -e .` leaves in site-packages, and asserts that it imports the `_C` just built.
# Extra arguments go to pytest (e.g. `bash tools/test.sh -k conv`).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
python3 tools/check_prereqs.py
isolate="$PWD/tools/isolate"
# ccache, where installed, lets the three build trees share every object file that comes out the same
# (the CPU kernels above all; only the files behind the CUDA seam differ): base_dir makes the trees'
# absolute paths relative, so build/ and build-emu/ hash alike, and build-wheel/ reuses build/'s
# nvcc objects too.
launcher=""
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$PWD"
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache"
fi
# check_c DIR: the dlcore._C that Python imports with PYTHONPATH=DIR must be DIR/dlcore's.
check_c() {
  PYTHONPATH="$isolate:$1" python3 -c '
import os, sys
import dlcore._C as c
got, want = os.path.realpath(c.__file__), os.path.realpath(os.path.join(sys.argv[1], "dlcore"))
print(f"dlcore._C under test: {got}")
sys.exit(0 if os.path.dirname(got) == want else f"error: imported {got}, not the _C just built in {want}")' "$1"
}
cmake -S . -B build -G Ninja $launcher -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v python3)"
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
# The wheel a user's `pip wheel .` builds, installed in a fresh venv and checked to import and train
# there without CUDA libraries or nvcc (tools/test_wheel.sh; with ccache it reuses build/'s objects).
bash tools/test_wheel.sh
# With CUDA found, the build above never compiles the CPU-only seam (cuda_unavailable.cpp and the
# CUDA-less dispatch): build and test that configuration too, without the Python module.
if grep -q "DLCORE_WITH_CUDA=1" build/CMakeFiles/dlcore_core.dir/flags.make 2>/dev/null || \
   grep -q "DLCORE_WITH_CUDA=1" build/build.ninja 2>/dev/null; then
  cmake -S . -B build-cpu-only -G Ninja $launcher -DCMAKE_BUILD_TYPE=Release -DDLCORE_CUDA=OFF -DDLCORE_BUILD_PYTHON=OFF
  cmake --build build-cpu-only -j "$jobs"
  ctest --test-dir build-cpu-only --output-on-failure -j "$jobs"
fi
check_c "$PWD/python"
# DLCORE_EXPECT_C: tests_py/conftest.py fails the session if pytest imported another _C.
DLCORE_EXPECT_C="$PWD/python/dlcore" PYTHONPATH="$isolate:$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
  python3 -m pytest -q tests_py "$@"
if [ "${DLCORE_SKIP_EMULATOR:-0}" != 1 ] && \
   ! PYTHONPATH="$isolate:$PWD/python" python3 -c 'import dlcore, sys; sys.exit(not dlcore.cuda.is_available())'; then
  cmake -S . -B build-emu -G Ninja $launcher -DCMAKE_BUILD_TYPE=Release -DDLCORE_CUDA=EMULATED \
    -DPython_EXECUTABLE="$(command -v python3)"
  cmake --build build-emu -j "$jobs"
  # 8 emulated multiprocessors keep grid-stride grids small (blocks run one after another).
  export DLCORE_EMULATED_SMS=8
  ctest --test-dir build-emu --output-on-failure -j "$jobs" -R '^Cuda'
  # The emulated module must be the one imported, or the GPU tests would silently skip.
  check_c "$PWD/build-emu/python"
  PYTHONPATH="$isolate:$PWD/build-emu/python" python3 -c 'import dlcore, sys
sys.exit(0 if dlcore.cuda.is_available() else f"error: the emulated build {dlcore._C.__file__} reports no CUDA device")'
  # The whole Python suite again, now with its device=cuda cases, but for the tests of the scripts
  # (trainers, sweep, report, CLI, baseline_torch): they train on real data on the default device,
  # and the pytest stage above has run them; on the emulator they would take many minutes.
  DLCORE_EXPECT_C="$PWD/build-emu/python/dlcore" PYTHONPATH="$isolate:$PWD/build-emu/python" \
    python3 -m pytest -q -p no:cacheprovider tests_py \
      --ignore-glob='tests_py/test_baseline_*.py' --ignore=tests_py/test_train_mnist.py \
      --ignore=tests_py/test_train_cifar10.py --ignore=tests_py/test_train_imagenet.py \
      --ignore=tests_py/test_run_evidence.py \
      --ignore=tests_py/test_sweep.py --ignore=tests_py/test_report.py --ignore=tests_py/test_cli.py \
      --ignore=tests_py/test_isolation.py
fi
# How much the build trees shared (cumulative for this user's cache).
if [ -n "$launcher" ]; then ccache --show-stats | sed -n '1,8p'; fi
