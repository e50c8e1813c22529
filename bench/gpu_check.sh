#!/usr/bin/env bash
# One prepared GPU check: the speed cases on one CUDA device, then a 1-GPU DDP (NCCL)
# run through the command line. Prints ms/step. Uses only what is in the repository.
#
#   bash bench/gpu_check.sh                 # on a CUDA machine: about 5-8 minutes on an H200
#   bash bench/gpu_check.sh --cpu-dry-run   # tiny sizes on the CPU: checks that it all runs
#
# Output folder: $OUT if set (the device runner's result folder), else a new temporary folder.
# Without a CUDA device (and without --cpu-dry-run) it says so and stops at once (exit status 2).
set -u -o pipefail
cd "$(dirname "$0")/.."

DRY=""
if [[ "${1:-}" == "--cpu-dry-run" ]]; then DRY="--cpu-dry-run"; fi
if [[ -z "$DRY" ]] && ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device here; run it on a GPU machine, or check that it runs with" \
        "bash bench/gpu_check.sh --cpu-dry-run" >&2
    exit 2
fi
OUT_DIR="${OUT:-$(mktemp -d -t gpu_check.XXXXXX)}"
mkdir -p "$OUT_DIR"
echo "output folder: $OUT_DIR"
STATUS=0

echo "== machine"
python - <<'EOF'
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda)
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "count", torch.cuda.device_count())
else:
    print("no CUDA device")
EOF
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

echo "== speed: P1, P2, P3 (100k-point Poisson): plain loop, deepinn reverse / auto / compile"
STEPS=300
MODES=plain,reverse,auto,compile
# CPU dry run: no compile (inductor's C++ warm-up takes minutes on 2 cores); tests it runs.
if [[ -n "$DRY" ]]; then STEPS=6; MODES=plain,reverse,auto; fi
timeout 450 python bench/gpu_bench.py $DRY --steps "$STEPS" --modes "$MODES" --json "$OUT_DIR/gpu_speed.json" \
    2>&1 | grep -v -E "Warning|warnings.warn|Tip:|available:|stopped:|LOCAL_RANK" || STATUS=1

echo "== 1-GPU DDP (NCCL) through the command line: Poisson 100k points, Adam"
ACCEL=gpu
DDP_STEPS=300
DDP_POINTS="problem.n_interior=100000 problem.n_boundary=4000"
if [[ -n "$DRY" ]]; then ACCEL=cpu; DDP_STEPS=5; DDP_POINTS="problem.n_interior=64 problem.n_boundary=16"; fi
rm -rf "$OUT_DIR/ddp"
START=$(date +%s.%N)
timeout 120 deepinn train trainer=ddp trainer.devices=1 trainer.accelerator=$ACCEL \
    trainer.max_steps=$DDP_STEPS trainer.enable_progress_bar=false optimizer=adam logger=none \
    $DDP_POINTS "hydra.run.dir=$OUT_DIR/ddp" > "$OUT_DIR/ddp.log" 2>&1 || { STATUS=1; tail -30 "$OUT_DIR/ddp.log"; }
END=$(date +%s.%N)
python - "$OUT_DIR/ddp/metrics.json" "$START" "$END" <<'EOF'
import json, sys
path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
try:
    m = json.load(open(path))
except OSError:
    print("DDP run: no metrics.json"); raise SystemExit(1)
steps, wall = m.get("steps"), m.get("wall_time_s")
per = f"{1e3 * wall / steps:.3f} ms/step (fit wall / steps, validation included)" if steps and wall else "-"
print(f"DDP 1 device: steps {steps}, fit {wall} s, {per}; process {end - start:.1f} s; "
      f"rel_l2 {m.get('rel_l2')}, final loss {m.get('final_loss')}")
EOF
[[ $? -eq 0 ]] || STATUS=1
echo "== done (status $STATUS); files in $OUT_DIR"
exit $STATUS
