/**
 * How unequal the output channels of each Conv weight are after BatchNorm folding: the ratio of
 * the largest to the smallest channel's max |w|. Per-tensor quantization gives every channel the
 * scale of the largest, so the smallest spans 127/ratio of int8's levels (7/ratio of int4's) —
 * why per-tensor weights fail on depthwise convolutions whose channels' γ/σ differ widely
 * (Krishnamoorthi 2018, §3.1), and why per-channel scales or QAT repair it.
 */
import { prepareForQuantization } from "../../src/api/prepare.js";
import { intAttr } from "../../src/graph/ir.js";
import { loadModel } from "../../src/onnx/files.js";
import { toFloat32 } from "../../src/tensor/tensor.js";

export interface ChannelSpread {
  node: string;
  dims: number[];
  depthwise: boolean;
  /** max over channels of max|w| divided by the min over channels. */
  ratio: number;
}

export function channelSpread(path: string): ChannelSpread[] {
  const { model } = prepareForQuantization(loadModel(path), { minOpset: 13 });
  const out: ChannelSpread[] = [];
  for (const node of model.graph.nodes) {
    if (node.opType !== "Conv") continue;
    const w = model.graph.initializers.get(node.inputs[1] ?? "");
    if (!w) continue;
    const data = toFloat32(w);
    const channels = w.dims[0]!;
    const per = data.length / channels;
    const absMax = Array.from({ length: channels }, (_, c) => {
      let m = 0;
      for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(data[i]!));
      return m;
    });
    const group = intAttr(node, "group", 1);
    out.push({ node: node.name, dims: [...w.dims], depthwise: group > 1 && group === channels, ratio: Math.max(...absMax) / Math.min(...absMax) });
  }
  return out;
}
