/**
 * The versions of each ai.onnx operator up to opset 21: the opsets at which its schema changed
 * ("since_version" in the ONNX operator docs and Changelog.md, cross-checked with the steps the ONNX
 * version converter registers adapters for, onnx/version_converter/convert.h). An op at version v
 * has to be looked at again at every later entry; most entries only add types and need nothing
 * (upgrade_opset.ts keeps the list of those that change semantics or move arguments).
 */

/** The newest opset this table covers. */
export const MAX_KNOWN_OPSET = 21;

const HISTORY: Record<string, number[]> = {
  Abs: [1, 6, 13], Acos: [7], Acosh: [9], Asin: [7], Asinh: [9], Atan: [7], Atanh: [9], Cos: [7], Cosh: [9],
  Sin: [7], Sinh: [9], Tan: [7],
  Add: [1, 6, 7, 13, 14], Sub: [1, 6, 7, 13, 14], Mul: [1, 6, 7, 13, 14], Div: [1, 6, 7, 13, 14],
  And: [1, 7], Or: [1, 7], Xor: [1, 7], Not: [1],
  ArgMax: [1, 11, 12, 13], ArgMin: [1, 11, 12, 13],
  AveragePool: [1, 7, 10, 11, 19],
  BatchNormalization: [1, 6, 7, 9, 14, 15],
  BitShift: [11],
  Cast: [1, 6, 9, 13, 19, 21], CastLike: [15, 19, 21],
  Ceil: [1, 6, 13], Floor: [1, 6, 13], Round: [11],
  Celu: [12],
  Clip: [1, 6, 11, 12, 13],
  Compress: [9, 11],
  Concat: [1, 4, 11, 13],
  Constant: [1, 9, 11, 12, 13, 19, 21],
  ConstantOfShape: [9, 20, 21],
  Conv: [1, 11], ConvInteger: [10], ConvTranspose: [1, 11],
  CumSum: [11, 14],
  DepthToSpace: [1, 11, 13], SpaceToDepth: [1, 13],
  DequantizeLinear: [10, 13, 19, 21], QuantizeLinear: [10, 13, 19, 21], DynamicQuantizeLinear: [11],
  Det: [11],
  DFT: [17, 20],
  Dropout: [1, 6, 7, 10, 12, 13],
  Einsum: [12],
  Elu: [1, 6], Selu: [1, 6],
  Equal: [1, 7, 11, 13, 19], Greater: [1, 7, 9, 13], Less: [1, 7, 9, 13], GreaterOrEqual: [12, 16], LessOrEqual: [12, 16],
  Erf: [9, 13],
  Exp: [1, 6, 13], Log: [1, 6, 13],
  Expand: [8, 13],
  EyeLike: [9],
  Flatten: [1, 9, 11, 13, 21],
  Gather: [1, 11, 13], GatherElements: [11, 13], GatherND: [11, 12, 13],
  Gelu: [20],
  Gemm: [1, 6, 7, 9, 11, 13],
  GlobalAveragePool: [1], GlobalLpPool: [1, 2], GlobalMaxPool: [1],
  GridSample: [16, 20],
  GroupNormalization: [18, 21],
  GRU: [1, 3, 7, 14], LSTM: [1, 7, 14], RNN: [1, 7, 14],
  Hardmax: [1, 11, 13], LogSoftmax: [1, 11, 13], Softmax: [1, 11, 13],
  HardSigmoid: [1, 6], HardSwish: [14],
  Identity: [1, 13, 14, 16, 19, 21],
  If: [1, 11, 13, 16, 19, 21], Loop: [1, 11, 13, 16, 19, 21], Scan: [8, 9, 11, 16, 19, 21],
  InstanceNormalization: [1, 6], LayerNormalization: [17], MeanVarianceNormalization: [9, 13],
  IsInf: [10, 20], IsNaN: [9, 13, 20],
  LeakyRelu: [1, 6, 16], PRelu: [1, 6, 7, 9, 16], ThresholdedRelu: [10],
  LpNormalization: [1], LpPool: [1, 2, 11, 18],
  LRN: [1, 13],
  MatMul: [1, 9, 13], MatMulInteger: [10], QLinearConv: [10], QLinearMatMul: [10, 21],
  Max: [1, 6, 8, 12, 13], Min: [1, 6, 8, 12, 13], Mean: [1, 6, 8, 13], Sum: [1, 6, 8, 13],
  MaxPool: [1, 8, 10, 11, 12], MaxRoiPool: [1], MaxUnpool: [9, 11],
  Mish: [18],
  Mod: [10, 13],
  Neg: [1, 6, 13], Reciprocal: [1, 6, 13], Sqrt: [1, 6, 13], Sigmoid: [1, 6, 13], Tanh: [1, 6, 13],
  Relu: [1, 6, 13, 14], Sign: [9, 13], Softplus: [1], Softsign: [1], Shrink: [9],
  NonMaxSuppression: [10, 11], NonZero: [9, 13],
  OneHot: [9, 11],
  Pad: [1, 2, 11, 13, 18, 19, 21],
  Pow: [1, 7, 12, 13, 15],
  RandomNormal: [1], RandomNormalLike: [1], RandomUniform: [1], RandomUniformLike: [1], Multinomial: [7], Bernoulli: [15],
  Range: [11],
  ReduceL1: [1, 11, 13, 18], ReduceL2: [1, 11, 13, 18], ReduceLogSum: [1, 11, 13, 18], ReduceLogSumExp: [1, 11, 13, 18],
  ReduceMax: [1, 11, 12, 13, 18, 20], ReduceMean: [1, 11, 13, 18], ReduceMin: [1, 11, 12, 13, 18, 20],
  ReduceProd: [1, 11, 13, 18], ReduceSum: [1, 11, 13], ReduceSumSquare: [1, 11, 13, 18],
  Reshape: [1, 5, 13, 14, 19, 21],
  Resize: [10, 11, 13, 18, 19], Upsample: [1, 7, 9, 10],
  ReverseSequence: [10],
  RoiAlign: [10, 16],
  Scatter: [9, 11], ScatterElements: [11, 13, 16, 18], ScatterND: [11, 13, 16, 18],
  Shape: [1, 13, 15, 19, 21], Size: [1, 13, 19, 21],
  Slice: [1, 10, 11, 13],
  Split: [1, 2, 11, 13, 18],
  Squeeze: [1, 11, 13, 21], Unsqueeze: [1, 11, 13, 21],
  Tile: [1, 6, 13],
  TopK: [1, 10, 11],
  Transpose: [1, 13, 21],
  Trilu: [14],
  Unique: [11],
  Where: [9, 16],
};

/** The schema versions of an ai.onnx op up to opset 21, or undefined when octet does not know the op. */
export function opVersions(opType: string): readonly number[] | undefined {
  return HISTORY[opType];
}

/** The version of `opType` in effect in `opset` (the largest since_version ≤ opset). */
export function opVersionAt(opType: string, opset: number): number | undefined {
  const v = HISTORY[opType];
  if (!v) return undefined;
  let best: number | undefined;
  for (const s of v) if (s <= opset) best = s;
  return best;
}

/** Minimum IR version for each opset (onnx/helper.py VERSION_TABLE). */
export function minimumIrVersion(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}
