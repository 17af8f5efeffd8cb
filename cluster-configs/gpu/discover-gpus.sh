#!/usr/bin/env bash
# Spark resource discovery script for GPUs: spark.{executor,driver,worker}.resource.gpu.discoveryScript.
# Prints the GPUs this container may use as Spark expects them:
#   {"name": "gpu", "addresses": ["0", "1"]}
# Addresses are CUDA device ordinals as this process sees them, which is what executors bind
# ND4J to (engine.GpuBinding):
#   - CUDA_VISIBLE_DEVICES set (YARN's GPU plugin, a scheduler, a user): its entries are what CUDA
#     can see, numbered 0..n-1 in that order ("" or -1 or NoDevFiles: none);
#   - otherwise nvidia-smi's indices (in a Kubernetes pod with nvidia.com/gpu, only the pod's GPUs,
#     numbered from 0). Set CUDA_DEVICE_ORDER=PCI_BUS_ID on executors so CUDA numbers GPUs in
#     nvidia-smi's order (cluster-configs/yarn/spark-defaults.conf does).
# Exits non-zero with a message on stderr when the GPUs cannot be listed; Spark then fails the
# executor's start with that message instead of running it without its GPU.
set -euo pipefail

emit() { # addresses as arguments
  local out="" a
  for a in "$@"; do out+="${out:+, }\"$a\""; done
  printf '{"name": "gpu", "addresses": [%s]}\n' "$out"
}

if [ "${CUDA_VISIBLE_DEVICES+set}" = set ]; then
  case "$CUDA_VISIBLE_DEVICES" in
    ""|-1|NoDevFiles) emit; exit 0 ;;
  esac
  IFS=',' read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  ordinals=()
  for i in "${!visible[@]}"; do ordinals+=("$i"); done
  emit "${ordinals[@]}"
  exit 0
fi

smi="${NVIDIA_SMI:-nvidia-smi}"
if ! command -v "$smi" >/dev/null 2>&1; then
  echo "discover-gpus.sh: $smi not found on $(hostname): install the NVIDIA driver on this node, or do not request spark.*.resource.gpu.amount here" >&2
  exit 1
fi
if ! listing="$("$smi" --query-gpu=index --format=csv,noheader 2>&1)"; then
  echo "discover-gpus.sh: '$smi --query-gpu=index' failed on $(hostname): $listing" >&2
  exit 1
fi
indices=()
while IFS= read -r line; do
  line="${line//[[:space:]]/}"
  [ -z "$line" ] && continue
  if ! [[ "$line" =~ ^[0-9]+$ ]]; then
    echo "discover-gpus.sh: unexpected line from $smi: '$line'" >&2
    exit 1
  fi
  indices+=("$line")
done <<< "$listing"
emit "${indices[@]}"
