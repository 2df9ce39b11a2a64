#!/usr/bin/env bash
# Prepares the git-ignored folders that travel to the GPU machine with the device tool's `carry`:
# gpu_data/ (MNIST, from $DLCORE_DATA or ../shared/data), gpu_deps/gtest (this machine's GoogleTest
# headers and static libraries: the GPU machine has none and no internet) and gpu_deps/pybind11 (the
# bindings need pybind11 >= 3; the GPU image's version is not guaranteed). Then run there:
#   bash tools/gpu_check.sh        with carry ["gpu_data", "gpu_deps"]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${DLCORE_DATA:-../shared/data}"
mkdir -p gpu_data gpu_deps/gtest/include gpu_deps/gtest/lib
cp -r "$data/MNIST" gpu_data/
cp -r /usr/include/gtest gpu_deps/gtest/include/
cp /usr/lib/*/libgtest.a /usr/lib/*/libgtest_main.a gpu_deps/gtest/lib/
rm -rf gpu_deps/pybind11
cp -r "$(python3 -c 'import os, pybind11; print(os.path.dirname(pybind11.__file__))')" gpu_deps/pybind11
du -sh gpu_data gpu_deps
