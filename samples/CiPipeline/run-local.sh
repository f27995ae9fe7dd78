#!/usr/bin/env bash
# The CI/CD pipeline of github-actions.yml and azure-pipelines.yml, step for step, on your machine:
# train and register, mark the new version as challenger, gate it against the champion, download the champion,
# append the report. With no MLFLOW_TRACKING_URI it uses a local store (./ci-mlflow.db) in the repository root.
#
#   bash samples/CiPipeline/run-local.sh                 # local store
#   MLFLOW_TRACKING_URI=http://localhost:5000 bash samples/CiPipeline/run-local.sh
#   LEARNING_RATE=5 EPOCHS=2 bash samples/CiPipeline/run-local.sh      # a worse model: the gate refuses (exit 1)
set -euo pipefail
cd "$(dirname "$0")/../.."

export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-sqlite:///$PWD/ci-mlflow.db}"
MODEL_NAME="${MODEL_NAME:-ci-classifier}"
LEARNING_RATE="${LEARNING_RATE:-0.5}"
EPOCHS="${EPOCHS:-40}"
MIN_ACCURACY="${MIN_ACCURACY:-0.8}"
SUMMARY="${GITHUB_STEP_SUMMARY:-$PWD/artifacts/ci-summary.md}"
mkdir -p artifacts "$(dirname "$SUMMARY")"

# 1. Install the tool from this repository (a pipeline would use: dotnet tool install --global MLOpsDemo.Mlflow.Cli).
dotnet pack src/MLOpsDemo.Mlflow.Cli -c Release -o artifacts/packages --nologo
rm -rf artifacts/tools
dotnet tool install MLOpsDemo.Mlflow.Cli --tool-path artifacts/tools --add-source artifacts/packages --ignore-failed-sources
mlflow() { artifacts/tools/dotnet-mlflow "$@"; }

# 2. Train and register (the sample's command line: <model> <learning-rate> <epochs>).
previous_champion=$(mlflow models alias get "$MODEL_NAME" champion 2>/dev/null || true)
dotnet run --project samples/TrainAndRegister -c Release -- "$MODEL_NAME" "$LEARNING_RATE" "$EPOCHS"

# 3. The new version is the challenger. The gate, not the training program, decides who is champion:
#    put the champion back where it was before training.
mlflow models alias set "$MODEL_NAME" challenger latest
if [ -n "$previous_champion" ]; then
  mlflow models alias set "$MODEL_NAME" champion "$previous_champion"
elif mlflow models alias get "$MODEL_NAME" champion >/dev/null 2>&1; then
  mlflow models alias delete "$MODEL_NAME" champion
fi

# 4. Gate: requirements on the challenger's run, and it must beat the champion; exit 1 (alias unchanged) when refused.
gate=0
mlflow models promote "$MODEL_NAME" --from-alias challenger --to-alias champion \
  --require "metrics.accuracy >= $MIN_ACCURACY" \
  --must-beat champion --metric accuracy || gate=$?

# 5. Report (always), then download the champion for packaging.
mlflow report "models:/$MODEL_NAME@challenger" --output markdown >> "$SUMMARY"
if [ "$gate" -ne 0 ]; then
  echo "The gate refused the challenger (exit $gate); the champion is unchanged. Report: $SUMMARY" >&2
  exit "$gate"
fi
mlflow models download "models:/$MODEL_NAME@champion" artifacts/champion
echo "Champion downloaded to artifacts/champion; report appended to $SUMMARY"
