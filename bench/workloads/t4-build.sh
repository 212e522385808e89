#!/bin/bash
# T4b: build a real C project from source: unpack flightrec's own source
# (`git archive` of the benchmarked commit) and run `make -j2` (C17 with
# clang for the BPF object, gcc for the rest), then delete the tree.
# Usage: t4-build.sh DIR SRC_TARBALL [MAKE_TARGET]
set -euo pipefail
dir=$1 src=$2 target=${3:-all}
mkdir "$dir/src"
tar -xf "$src" -C "$dir/src"
make -C "$dir/src" -j2 -s "$target" >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log" >&2; exit 1; }
rm -rf "$dir/src"
