/**
 * Fusing table steps after compilation. Every table step is an exact function of bytes, so
 * composing tables changes no result, only the number of passes over the data:
 *
 *   unary ∘ unary            U2[U1[q]]                        (x·w + b: a LookupTable(Mul) then (Add))
 *   binary(q, U(q))          T[q << 8 | U[q]]                  (HardSwish: x · clip(x + 3)/6 — one table)
 *   step → unary             the producer applies U on its output (a convolution's activation)
 *
 * Only values read by exactly one step (and not graph outputs) are fused away.
 */
import type { Step } from "../program.js";
import { tableStep } from "../ops/lookup.js";
import type { Int8Backend } from "../backend.js";

/** How many steps read each value; graph outputs count as many readers (never fused away). */
export function readerCounts(steps: Step[], outputs: Set<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of steps) for (const v of s.inputs) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const o of outputs) counts.set(o, (counts.get(o) ?? 0) + 1000);
  return counts;
}

export function fuseTables(steps: Step[], graphOutputs: Set<string>, backend: Pick<Int8Backend, "newTensor" | "release">): Step[] {
  let current = [...steps];
  for (let changed = true; changed;) {
    changed = false;
    const counts = readerCounts(current, graphOutputs);
    const producer = new Map<string, Step>();
    for (const s of current) for (const o of s.outputs) if (o) producer.set(o, s);
    const soleUse = (v: string) => counts.get(v) === 1;
    for (let i = 0; i < current.length && !changed; i++) {
      const step = current[i]!;
      const t = step.table;
      if (!t) continue;
      if (t.kind === "binary") {
        // binary(q, U(q)) or binary(U(q), q) → unary of q
        const pb = producer.get(t.b);
        const pa = producer.get(t.a);
        let fused: Uint8Array | undefined;
        let input = "";
        let inner: Step | undefined;
        if (pb?.table?.kind === "unary" && pb.table.input === t.a && soleUse(t.b)) {
          const u = pb.table.table;
          fused = Uint8Array.from({ length: 256 }, (_, q) => t.table[(q << 8) | u[q]!]!);
          input = t.a;
          inner = pb;
        } else if (pa?.table?.kind === "unary" && pa.table.input === t.b && soleUse(t.a)) {
          const u = pa.table.table;
          fused = Uint8Array.from({ length: 256 }, (_, q) => t.table[(u[q]! << 8) | q]!);
          input = t.b;
          inner = pa;
        }
        if (fused && inner) {
          const replacement = tableStep([...inner.nodes, ...step.nodes], `LookupTable(${inner.opType}·${step.opType})`, input, step.outputs[0]!, fused, t.outDType, backend);
          current = current.filter((s) => s !== inner).map((s) => (s === step ? replacement : s));
          changed = true;
        }
        continue;
      }
      // unary: fold into the producer of its input
      const p = producer.get(t.input);
      if (!p || !soleUse(t.input)) continue;
      if (p.table?.kind === "unary") {
        const u1 = p.table.table;
        const composed = Uint8Array.from(u1, (b) => t.table[b]!);
        const replacement = tableStep([...p.nodes, ...step.nodes], joinNames(p.opType, step.opType), p.table.input, step.outputs[0]!, composed, t.outDType, backend);
        current = current.filter((s) => s !== p).map((s) => (s === step ? replacement : s));
        changed = true;
      } else if (p.fuseOutputTable && p.outputs.length === 1) {
        p.fuseOutputTable(t.table, t.outDType);
        delete p.facts; // they described the step without this table
        p.outputs = [step.outputs[0]!];
        p.nodes = [...p.nodes, ...step.nodes];
        p.opType = `${p.opType}+${step.opType}`;
        if (p.table?.kind === "binary") {
          const inner = p.table.table;
          p.table = { ...p.table, table: Uint8Array.from(inner, (b) => t.table[b]!), outDType: t.outDType };
        } else {
          delete p.table;
        }
        current = current.filter((s) => s !== step);
        changed = true;
      }
    }
  }
  return current;
}

function joinNames(a: string, b: string): string {
  const inner = (s: string) => (s.startsWith("LookupTable(") ? s.slice("LookupTable(".length, -1) : s);
  return `LookupTable(${inner(a)}+${inner(b)})`;
}
