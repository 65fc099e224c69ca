#!/bin/bash
# The batched path's GPU check, prepared to run as one command on a borrowed GPU (about
# 3 minutes on an H200): the CUDA tests, then benchmarks/gpu_batched.py, whose table
# replaces the gpu-batched block of docs/benchmarks.md. Everything it writes goes to $OUT
# (the device tool brings that folder back), docs/benchmarks.md included:
#   OUT=/tmp/gpu bash benchmarks/gpu/run.sh
set -u
out=${OUT:-benchmarks/gpu}
mkdir -p "$out"
cp docs/benchmarks.md "$out/benchmarks.md"
nvidia-smi --query-gpu=name,memory.total --format=csv > "$out/gpu.txt" 2>&1
timeout 150 python -m pytest -q -p no:cacheprovider -k "cuda or gpu" tests/ > "$out/cuda-tests.txt" 2>&1
echo "cuda tests: rc $?" | tee -a "$out/cuda-tests.txt"
timeout 150 python benchmarks/gpu_batched.py --repeats 20 --json "$out/onepass.json" --docs "$out/benchmarks.md" \
    > "$out/onepass.txt" 2>&1
echo "benchmark: rc $?" | tee -a "$out/onepass.txt"
