#!/bin/sh
# make demo: a 3-host training job from this folder, then a look at what it produced.
set -eu
SAGERUN=${1:-sagerun}
here=$(cd "$(dirname "$0")" && pwd)
out=${SAGERUN_DEMO_OUTPUT:-$(pwd)/sagerun-output}
name="barrier-demo-$(date +%Y%m%d-%H%M%S)"

"$SAGERUN" train --name "$name" --hosts 3 --source-dir "$here" --entry-point train.py \
	--hp epochs=2 --output "$out"

echo
echo "model.tar.gz of $name:"
tar -tzvf "$out/$name/output/model.tar.gz"
tar -xzOf "$out/$name/output/model.tar.gz" model.json
echo
