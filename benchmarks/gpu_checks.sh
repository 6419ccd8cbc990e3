#!/usr/bin/env bash
# Every GPU check in one run, for a session lent a GPU (see the device kit's README): the GPU tests, the
# benchmarks on CUDA (Kornia, DALI and audiomentations anchors in the same run), the augmentation share of a
# step, and the GPU accuracy targets of the Fashion-MNIST recipes. Results go to ${OUT:-gpu_results}/.
set -u
out=${OUT:-gpu_results}
mkdir -p "$out"
cd "$(dirname "$0")/.."
run() { local name=$1; shift; echo "== $name: $*"; ( "$@" ) > "$out/$name.log" 2>&1; echo "   exit $? -> $out/$name.log"; }
run gpu_tests python -m pytest -q -m gpu tests/augment
run vision_chain python benchmarks/vision_chain.py --device cuda
run voice_chain python benchmarks/voice_chain.py --device cuda
run augment_share python benchmarks/augment_share.py --device cuda
run image_folder_input python benchmarks/image_folder_input.py --device cuda --images 4000
run train_default python -m blackmagic.cli train -c recipes/fashion_mnist.yaml --runs_dir "$out/runs"
run train_ensemble python -m blackmagic.cli train -c recipes/fashion_mnist.yaml -c recipes/overlays/ensemble.yaml --runs_dir "$out/runs"
grep -h -A3 -E "speed-up|share of|Result|images/s|passed|failed" "$out"/*.log | head -80
