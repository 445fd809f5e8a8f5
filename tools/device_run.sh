#!/usr/bin/env bash
# One GPU check of the whole book, sized for a short lease on a machine with torch and the
# scientific stack but no Jupyter (benchmarks/README.md, "To repeat a GPU run"):
#
#   tools/device_run.sh OUT [DEADLINE_S] [DEVICE] [sections]
#
# Runs, at the same time, every chapter's quick profile (five processes, one thread each: every
# cell of the book on the GPU, to compare with results/quick) and every chapter's full profile
# (five processes, two threads each, stopped at DEADLINE_S seconds: how far each gets and how
# fast its cells run), both with tools/profile_chapters.py on --device cuda; samples the GPU's
# load with nvidia-smi dmon meanwhile; then times one optimiser step of each model family
# (benchmarks/benchmark_step.py --device cuda). Everything goes to OUT: quick/ and full/ (results and
# timing.json), *.log, gpu-utilisation.txt, step.txt, about.txt. The data come from WORMLIB_DATA
# (default: .devdata/ in the repository, a copy of kato2015/ and dag2023/); the connectome from a
# `cect` package on PYTHONPATH (default: .devsite/, its __init__.py and the White 1986 table).
# With a fourth argument `sections`, it runs instead only what the 2026-12-04 run did not reach:
# the pages 03_time_context and 04_without_the_future (sections of chapters 3 and 4 then), side by
# side, to full3/ and full4/ (no step benchmark).
set -u
out=${1:?usage: tools/device_run.sh OUT [DEADLINE_S] [DEVICE] [sections]}
deadline=${2:-420}
device=${3:-cuda}   # a third argument (cpu) for a dry run where there is no GPU
mode=${4:-all}      # "sections": only the sections of chapters 3 and 4 the 2026-12-04 run did not reach
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export WORMLIB_DATA=${WORMLIB_DATA:-$root/.devdata}
export PYTHONPATH=$root:$root/.devsite${PYTHONPATH:+:$PYTHONPATH}  # wormlib is not installed there
export PYTHONUNBUFFERED=1
mkdir -p "$out"
py=$(command -v python3 || command -v python)
{
  date -u +"%Y-%m-%dT%H:%M:%SZ"; git rev-parse --short HEAD 2>/dev/null || echo "commit: unknown"
  "$py" -c "import platform, numpy, torch; print('Python', platform.python_version(), '| torch', torch.__version__, '| numpy', numpy.__version__, '| cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
  nproc
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
} > "$out/about.txt" 2>&1
dmon=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi dmon -s u -d 5 > "$out/gpu-utilisation.txt" 2>&1 &
  dmon=$!
fi
start=$SECONDS
if [ "$mode" = sections ]; then
  # the pages the 2026-12-04 run did not reach (then sections of chapters 3 and 4, now pages of
  # their own, which read the committed results of the pages before them), side by side; no quick
  # profile, no step benchmark
  "$py" tools/profile_chapters.py --profile full --device "$device" --threads 6 --deadline "$deadline" \
    --out "$out/full3" 03_time_context > "$out/full3.log" 2>&1 &
  third=$!
  "$py" tools/profile_chapters.py --profile full --device "$device" --threads 6 --deadline "$deadline" \
    --out "$out/full4" 04_without_the_future > "$out/full4.log" 2>&1
  wait $third
else
  "$py" tools/profile_chapters.py --profile quick --device "$device" --jobs 5 --threads 1 --deadline "$deadline" \
    --out "$out/quick" > "$out/quick.log" 2>&1 &
  quick=$!
  "$py" tools/profile_chapters.py --profile full --device "$device" --jobs 5 --threads 2 --deadline "$deadline" \
    --out "$out/full" > "$out/full.log" 2>&1
  wait $quick
fi
echo "chapters: $((SECONDS - start)) s" >> "$out/about.txt"
[ -n "$dmon" ] && kill "$dmon"
[ "$mode" = sections ] || timeout 90 "$py" benchmarks/benchmark_step.py --device "$device" --steps 20 > "$out/step.txt" 2>&1
echo "done: $((SECONDS - start)) s" >> "$out/about.txt"
