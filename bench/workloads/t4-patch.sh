#!/bin/bash
# T4a: a patch install: unpack a tree of ~20k small files from a tarball and
# delete it, then install a .deb into a temporary root with dpkg -x and
# delete that too.
# Usage: t4-patch.sh DIR TARBALL DEB
set -euo pipefail
dir=$1 tarball=$2 deb=$3
mkdir "$dir/tree" "$dir/root"
tar -xzf "$tarball" -C "$dir/tree"
rm -rf "$dir/tree"
dpkg -x "$deb" "$dir/root"
rm -rf "$dir/root"
