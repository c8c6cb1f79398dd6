#!/usr/bin/env bash
# Fails when `cargo test` would build a dependency with other features than `cargo build`: the
# dev-dependencies (tract-onnx, egui_kittest) switch features on in crates the binary shares, and
# a feature changed deep in the graph recompiles every crate above it, so the test build would
# compile the burn stack a second time. The fix is a pin in Cargo.toml's [dependencies].
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-$(rustc -vV | sed -n 's/^host: //p')}"
features() { # the (package, feature set) lines of one dependency graph, the crate itself left out
    cargo tree --locked -e "$1" --target "$target" --prefix none -f '{p}|{f}' \
        | sed 's/ (\*)$//' | grep -v '^pix2pix-studio ' | sort -u
}
normal="$(features normal)"
with_dev="$(features normal,dev)"
status=0
while IFS='|' read -r package set; do
    if grep -q "^${package}|" <<<"$normal"; then
        echo "feature sets diverge: $package is built with [$set] for the tests," \
             "[$(grep "^${package}|" <<<"$normal" | cut -d'|' -f2 | paste -sd';')] for the binary"
        status=1
    fi
done < <(comm -13 <(echo "$normal") <(echo "$with_dev"))
if [ "$status" -eq 0 ]; then
    echo "cargo build and cargo test share one feature set for every dependency"
fi
exit "$status"
