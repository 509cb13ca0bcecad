#!/usr/bin/env bash
# The CPU-sized CLD-Trans evaluation whose outputs this folder holds (README.md says what each one is).
#
#   bash results/examples/cldtrans_eval_cpu/run.sh WORK [OUT]
#   ONLY='^(focal|report)' bash results/examples/cldtrans_eval_cpu/run.sh WORK   # rerun some steps
#
# WORK: scratch folder (caches, checkpoints, raw cells; a few hundred MB); OUT: where the generated files go
# (default: this folder). Needs the bundled sample data (BIODYN_DATA_ROOT or ../shared/data). Each step is
# timed into OUT/times.txt; a step that fails is recorded there and the rest still run. The few-shot grids
# resume: rerunning skips the cells already written under WORK/results.
set -u
C=$(realpath -m "${1:?usage: run.sh WORK [OUT]}")
OUT=$(realpath -m "${2:-$(dirname "$0")}")
ID_STEP=${ID_STEP:-0}  # 1: also rerun the identifiability table (about an hour on one core)
mkdir -p "$C" "$OUT/pretrain"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PYTHON:-python}
# ONLY: a regex of step names to run (e.g. ONLY='^(focal|report)'); the other steps' outputs are reused from
# WORK and their lines in times.txt kept
ONLY=${ONLY:-}
[ -z "$ONLY" ] && : > "$OUT/times.txt"

step() {  # step NAME CMD...: run, append "NAME rc=R S s" to times.txt
  local name=$1 t0 rc
  shift
  if [ -n "$ONLY" ]; then
    [[ $name =~ $ONLY ]] || return 0
    sed -i "/^$name rc=/d" "$OUT/times.txt"
  fi
  t0=$(date +%s)
  "$@" > "$C/$name.log" 2>&1
  rc=$?
  echo "$name rc=$rc $(($(date +%s) - t0)) s" | tee -a "$OUT/times.txt"
}

D=(data.corpora=[eegmmidb,ptbxl] +data.splits.ptbxl=[train] data.limit=null "data.cache_dir=$C/cache")
for ab in none integer_lag no_vq no_lag no_ode; do
  step stage1_$ab $PY -m biodyn.cldtrans mode=stage1 profile=cpu ablation=$ab "${D[@]}" train.max_steps=100 \
    "train.out_dir=$C/ckpt/$ab"
done
step stage2_none $PY -m biodyn.cldtrans mode=stage2 profile=cpu "${D[@]}" train.max_steps=50 \
  "init_from=$C/ckpt/none/stage1/checkpoints/last" "train.out_dir=$C/ckpt/none_s2"
step stage2_no_ode $PY -m biodyn.cldtrans mode=stage2 profile=cpu ablation=no_ode "${D[@]}" train.max_steps=50 \
  "train.out_dir=$C/ckpt/no_ode"
for ab in none integer_lag no_vq no_lag no_ode; do
  cp "$C/ckpt/$ab/stage1/results.json" "$OUT/pretrain/${ab}_stage1_results.json"
done
cp "$C/ckpt/none_s2/stage2/results.json" "$OUT/pretrain/none_stage2_results.json"
cp "$C/ckpt/no_ode/stage2/results.json" "$OUT/pretrain/no_ode_stage2_results.json"

W=(--weights "cldtrans=$C/ckpt/none" --weights "cldtrans_integer_lag=$C/ckpt/integer_lag"
   --weights "cldtrans_no_vq=$C/ckpt/no_vq" --weights "cldtrans_no_lag=$C/ckpt/no_lag")
W2=(--weights "cldtrans_stage2=$C/ckpt/none_s2" --weights "cldtrans_no_ode=$C/ckpt/no_ode")
M=cldtrans,cldtrans_integer_lag,cldtrans_no_vq,cldtrans_no_lag
R=$C/results
FS=(--seeds 42,123,7,0,256 --modes linear_probe,finetune --out "$R")

step focal_baselines biodyn focal --excerpts --quick --out "$R"
step focal biodyn focal --excerpts --quick --methods $M "${W[@]}" --out "$R"
step focal_e001 biodyn focal --excerpts --quick --methods $M "${W[@]}" --edge-threshold 0.01 \
  --experiment focal_edge0.01 --out "$R"
step focal_s2 biodyn focal --excerpts --quick --methods cldtrans_stage2,cldtrans_no_ode "${W2[@]}" --out "$R"
step focal_s2_e001 biodyn focal --excerpts --quick --methods cldtrans_stage2,cldtrans_no_ode "${W2[@]}" \
  --edge-threshold 0.01 --experiment focal_edge0.01 --out "$R"

# few-shot: CHB-MIT excerpts at every budget (the cpu preset counts their windows), PTB-XL at 10 / 100 %
step fewshot_chbmit biodyn fewshot --preset cpu --datasets chbmit --models $M,bendr,biot,eeg_gcnn "${W[@]}" \
  --budgets 0.01,0.1,1.0 "${FS[@]}" --cache-dir "$C/fscache_c"
step fewshot_ptbxl biodyn fewshot --preset cpu --datasets ptbxl --models $M,bendr,biot,eeg_gcnn "${W[@]}" \
  --budgets 0.1,1.0 "${FS[@]}" --cache-dir "$C/fscache_p"

if [ "$ID_STEP" = 1 ]; then
  step identifiability $PY benchmarks/bench_identifiability.py --sizes 5 --noises laplace gaussian \
    --graphs cyclic --seeds 42 123 7 --n-times 2000 \
    --methods ours rhino dynotears varlingam pcmci amortised amortised_gaussian --amortised-steps 150 \
    --skip-lag-op --skip-speed --threads 1 --json "$OUT/identifiability.json" --markdown "$OUT/identifiability.md"
fi

step report biodyn report "$R" --out "$C/report"
cp "$C"/report/{report.md,tables.tex,focal_topk.png,budget_test_auroc.png,budget_test_auprc.png,budget_test_macro_auroc.png} "$OUT/"
