/**
 * Merging a Softmax step with its neighbours when the backend has a fused kernel for it
 * (Int8Backend.fusedSoftmax; the reference backend has none, so it keeps every step and stays the
 * oracle the fused program is compared with):
 *
 *   columnTable → Softmax        a bias Add before the Softmax (the recogniser's [1, 40, 6625]
 *                                head) is applied row by row into a buffer as the row is counted;
 *   Softmax → DequantizeLinear   the Softmax writes the dequantized floats directly.
 *
 * Only values read by exactly one step (and not graph outputs) are fused away. Same values as the
 * steps replaced: the fused kernel uses their tables (kernels/int8/softmax.ts).
 */
import type { Int8Backend } from "../backend.js";
import type { Step } from "../program.js";
import { readerCounts } from "./fuse_tables.js";

export function fuseSoftmax(steps: Step[], graphOutputs: Set<string>, backend: Int8Backend): Step[] {
  const fused = backend.fusedSoftmax;
  if (!fused) return steps;
  const counts = readerCounts(steps, graphOutputs);
  const producer = new Map<string, Step>();
  const reader = new Map<string, Step>();
  for (const s of steps) {
    for (const o of s.outputs) if (o) producer.set(o, s);
    for (const i of s.inputs) if (i) reader.set(i, s);
  }
  const removed = new Set<Step>();
  const replaced = new Map<Step, Step>();
  for (const step of steps) {
    const facts = step.facts;
    if (facts?.kind !== "softmax" || !facts.lastAxis || step.inputs.length !== 1 || step.outputs.length !== 1) continue;
    const input = step.inputs[0]!;
    const output = step.outputs[0]!;
    const before = producer.get(input);
    const bias = before?.facts?.kind === "columnTable" && counts.get(input) === 1 && before.facts.outDType === facts.plan.inputDType ? before : undefined;
    const after = counts.get(output) === 1 ? reader.get(output) : undefined;
    const dequantize = after?.facts?.kind === "dequantize" && after.facts.inputDType === facts.outDType && after.outputs.length === 1 ? after : undefined;
    if (!bias && !dequantize) continue;
    const biasFacts = bias?.facts?.kind === "columnTable" ? bias.facts : undefined;
    const dqFacts = dequantize?.facts?.kind === "dequantize" ? dequantize.facts : undefined;
    const kernel = fused(facts.plan, {
      ...(facts.outputTable ? { outputTable: facts.outputTable } : {}),
      ...(biasFacts ? { inputColumns: { table: biasFacts.table, column: biasFacts.column, columnIsB: biasFacts.columnIsB } } : {}),
      ...(dqFacts ? { dequantize: dqFacts.values } : {}),
    });
    const parts = [...(bias ? [bias] : []), step, ...(dequantize ? [dequantize] : [])];
    const merged: Step = {
      nodes: parts.flatMap((p) => p.nodes),
      opType: parts.map((p) => p.opType).join("+"),
      kind: "integer",
      inputs: [biasFacts ? biasFacts.input : input],
      outputs: [dequantize ? dequantize.outputs[0]! : output],
      run: ([t]) => [kernel(t!)],
    };
    if (!dequantize && kernel.fuseOutputTable) merged.fuseOutputTable = kernel.fuseOutputTable.bind(kernel);
    if (bias) removed.add(bias);
    if (dequantize) removed.add(dequantize);
    replaced.set(step, merged);
  }
  return steps.filter((s) => !removed.has(s)).map((s) => replaced.get(s) ?? s);
}
