#!/usr/bin/env bash
# The sizes the README reports: the release staticlib, what each network adds to a C program
# linked with it (text + data of the stripped program, against the same program without a
# network), and the no_std `outputs` program. Needs the C compiler Rust links with (cc).
set -euo pipefail
cd "$(dirname "$0")"
target=../../target/embedded
cargo build --release --locked --target-dir "$target" >&2
lib="$target/release/libbpnet_embedded.a"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/none.c" <<'C'
#include <stdio.h>
int main(void) { float x = 0.5f; printf("%f\n", x); return 0; }
C
cat > "$tmp/sine.c" <<'C'
#include <stdio.h>
float bpnet_sine(float x);
int main(void) { printf("%f\n", bpnet_sine(0.5f)); return 0; }
C
cat > "$tmp/sunspots.c" <<'C'
#include <stdio.h>
#include <stddef.h>
void bpnet_sunspots(const float *xs, float *out, size_t n);
int main(void) {
    float xs[3] = {0.1f, 0.2f, 0.3f}, out[3];
    bpnet_sunspots(xs, out, 3);
    printf("%f\n", out[2]);
    return 0;
}
C
bytes() { size "$1" | awk 'NR == 2 { print $1 + $2 }'; }
for p in none sine sunspots; do
    cc -O2 -o "$tmp/$p" "$tmp/$p.c" "$lib" -Wl,--gc-sections 2>/dev/null
    strip "$tmp/$p"
done
base=$(bytes "$tmp/none")
echo "staticlib: $(stat -c %s "$lib") bytes"
echo "Sine (2-layer, 1-16-1) in a C program: +$(( $(bytes "$tmp/sine") - base )) bytes (text + data)"
echo "Sunspots (Elman, 1-8-1) in a C program: +$(( $(bytes "$tmp/sunspots") - base )) bytes (text + data)"
echo "outputs (no_std program, all four networks): $(bytes "$target/release/outputs") bytes (text + data)"
