/**
 * A small MobileNet-style network for 28×28 MNIST (Howard et al. 2017, "MobileNets"): a 3×3 stem,
 * then depthwise-separable blocks (3×3 depthwise conv → BatchNorm → ReLU6 → 1×1 pointwise conv →
 * BatchNorm → ReLU6), global average pooling and one fully connected layer. Convolutions have no
 * bias (the BatchNorm after them supplies it).
 *
 * It is the classic hard case for per-tensor int8: after BatchNorm folding, the depthwise
 * weights' channels have very different ranges (each channel is scaled by its own γ/σ), so one
 * scale for the whole tensor leaves the small channels with a handful of levels (Krishnamoorthi
 * 2018, §3.1; Nagel et al. 2019, §2).
 *
 *   stem     conv 3×3, 1→16, stride 1            28×28
 *   block 1  dw 16, stride 2;  pw 16→32           14×14
 *   block 2  dw 32, stride 1;  pw 32→64           14×14
 *   block 3  dw 64, stride 2;  pw 64→128          7×7
 *   block 4  dw 128, stride 1; pw 128→128         7×7
 *   head     global average pool → FC 128→10
 */
import type { LayerSpec } from "./layers.js";

function convBnRelu6(inChannels: number, outChannels: number, kernel: number, stride: number, group = 1): LayerSpec[] {
  const pad = (kernel - 1) / 2;
  return [
    { type: "conv2d", inChannels, outChannels, kernel: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad], group, bias: false },
    { type: "batchnorm", channels: outChannels },
    { type: "relu6" },
  ];
}

function separable(inChannels: number, outChannels: number, stride: number): LayerSpec[] {
  return [...convBnRelu6(inChannels, inChannels, 3, stride, inChannels), ...convBnRelu6(inChannels, outChannels, 1, 1)];
}

export function mobileNetSpecs(classes = 10): LayerSpec[] {
  return [
    ...convBnRelu6(1, 16, 3, 1),
    ...separable(16, 32, 2),
    ...separable(32, 64, 1),
    ...separable(64, 128, 2),
    ...separable(128, 128, 1),
    { type: "globalavgpool" },
    { type: "flatten" },
    { type: "linear", inFeatures: 128, outFeatures: classes },
  ];
}
