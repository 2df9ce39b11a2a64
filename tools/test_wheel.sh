#!/usr/bin/env bash
# The wheel stage of the test command (tools/test.sh): `pip wheel .` builds dlcore's wheel in
# build-wheel/ (with the CUDA backend where nvcc is here, as a user's `pip wheel .` would), then a
# fresh venv, with nothing of this environment's site-packages, installs it (numpy and tqdm come from
# the package index) and tools/wheel_smoke.py checks, from outside the checkout and with no CUDA
# compiler on PATH, that it imports the venv's copy, needs no CUDA library to load, and trains.
# build-wheel/ is a sibling of build/, so with ccache (CCACHE_BASEDIR set by tools/test.sh) its
# objects hash like build/'s and the wheel costs little more than the link.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
out="$repo/build-wheel"
rm -rf "$out/dist" "$out/venv"
launchers=()
if [ -n "${CCACHE_BASEDIR:-}" ]; then
  launchers=(--config-settings=cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache
             --config-settings=cmake.define.CMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  # The same compiler path as build/ (scikit-build-core may name it g++ where CMake chose c++, and
  # ccache hashes the name): otherwise no C++ object would be shared.
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:FILEPATH=//p' build/CMakeCache.txt 2>/dev/null || true)
  if [ -n "$cxx" ]; then launchers+=(--config-settings=cmake.define.CMAKE_CXX_COMPILER="$cxx"); fi
fi
# --no-build-isolation: the build tools are the test extra's (tools/check_prereqs.py installed them),
# so no download is needed and the compile flags match build/'s.
python3 -m pip wheel . --no-deps --no-build-isolation -q -w "$out/dist" \
  --config-settings=build-dir="$out" "${launchers[@]}"
wheel=$(ls "$out"/dist/dlcore-*.whl)
echo "wheel: $wheel ($(du -h "$wheel" | cut -f1))"
python3 -m venv "$out/venv"
env -u PYTHONPATH "$out/venv/bin/python" -m pip install -q "$wheel"
expect_no_gpu=1
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then expect_no_gpu=0; fi
# Run from an empty directory, with PATH reduced to the system's (no nvcc), so that neither the
# checkout's python/ nor a CUDA toolkit can stand in for what the wheel carries.
mkdir -p "$out/run"
(cd "$out/run" && env -u PYTHONPATH PATH="$out/venv/bin:/usr/bin:/bin" DLCORE_WHEEL_EXPECT_NO_GPU=$expect_no_gpu \
  "$out/venv/bin/python" "$repo/tools/wheel_smoke.py" "$out/venv")
