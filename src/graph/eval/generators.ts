/** Ops that create or re-type constants: Identity, Cast, ConstantOfShape, Range. */
import { attr } from "../ir.js";
import { sizeOf, type Tensor } from "../../tensor/tensor.js";
import { numbersOf, tensorFromNumbers } from "../constants.js";
import { dtypeOfCode } from "../dtype_codes.js";
import { gatherElements } from "./indexing.js";
import { CannotEvaluate, requireInput, type Evaluator } from "./types.js";

export const generatorEvaluators: Record<string, Evaluator> = {
  Identity: (node, inputs) => [requireInput(node, inputs, 0)],
  Cast: (node, inputs) => {
    const x = requireInput(node, inputs, 0);
    const code = attr(node, "to", "int");
    if (code === undefined) throw new Error(`node ${node.name} (Cast): attribute to is required`);
    const to = dtypeOfCode(code, `node ${node.name} (Cast)`);
    if (to === x.dtype) return [x];
    if (to === "string" || x.dtype === "string" || to === "float16" || x.dtype === "float16" || to === "int4" || to === "uint4") {
      throw new CannotEvaluate(node, `casts between ${x.dtype} and ${to} are not evaluated`);
    }
    // Float → integer truncates toward zero (static_cast in ONNX Runtime); tensorFromNumbers does so.
    return [tensorFromNumbers(to, x.dims, numbersOf(x))];
  },
  ConstantOfShape: (node, inputs) => {
    const dims = numbersOf(requireInput(node, inputs, 0));
    if (dims.some((d) => d < 0 || !Number.isInteger(d))) throw new Error(`node ${node.name} (ConstantOfShape): invalid shape [${dims.join(",")}]`);
    const value: Tensor = attr(node, "value", "tensor") ?? tensorFromNumbers("float32", [1], [0]);
    if (sizeOf(value.dims) !== 1) throw new Error(`node ${node.name} (ConstantOfShape): value must hold one element`);
    return [gatherElements(value, dims, () => 0)];
  },
  Range: (node, inputs) => {
    const start = requireInput(node, inputs, 0);
    const [s] = numbersOf(start);
    const [limit] = numbersOf(requireInput(node, inputs, 1));
    const [delta] = numbersOf(requireInput(node, inputs, 2));
    if (delta === 0) throw new Error(`node ${node.name} (Range): delta is 0`);
    const n = Math.max(Math.ceil((limit! - s!) / delta!), 0);
    return [tensorFromNumbers(start.dtype, [n], Array.from({ length: n }, (_, i) => s! + i * delta!))];
  },
};
