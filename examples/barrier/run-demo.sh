#!/bin/sh
# make demo: a 3-host training job from this folder, then a look at what it produced.
set -eu
SAGERUN=${1:-sagerun}
here=$(cd "$(dirname "$0")" && pwd)
out=${SAGERUN_DEMO_OUTPUT:-$(pwd)/sagerun-output}
name="barrier-demo-$(date +%Y%m%d-%H%M%S)"
port=${SAGERUN_DEMO_PORT:-12000} # the leader's port, as GraphStorm's partition job uses

"$SAGERUN" train --name "$name" --hosts 3 --source-dir "$here" --entry-point train.py \
	--hp epochs=2 --hp port="$port" --output "$out"

echo
echo "model.tar.gz of $name:"
tar -tzvf "$out/$name/output/model.tar.gz"
tar -xzOf "$out/$name/output/model.tar.gz" model.json
echo
