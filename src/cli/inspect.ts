/** `octet inspect model.onnx` */
import type { Command } from "commander";
import { summarizeModel } from "../api/inspect.js";
import { loadModel } from "../onnx/files.js";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("print a model's ops, quantized tensors and their params")
    .argument("<model>", "ONNX model")
    .option("--json", "print as JSON")
    .action((path: string, o: { json?: boolean }) => {
      const s = summarizeModel(loadModel(path));
      if (o.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + "\n");
        return;
      }
      console.log(`opset ${s.opset}, ${s.nodes} nodes`);
      console.log(`inputs: ${s.inputs.join("; ")}`);
      console.log(`outputs: ${s.outputs.join("; ")}`);
      console.log(`ops: ${Object.entries(s.ops).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      console.log(`initializer bytes: ${Object.entries(s.initializerBytes).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      if (s.quantized.length) {
        console.log(`quantized tensors (${s.quantized.length}):`);
        for (const q of s.quantized) {
          const scale = typeof q.scale === "number" ? q.scale.toPrecision(5) : `${q.scale.channels} channels on axis ${q.scale.axis}, ${q.scale.min.toPrecision(4)}…${q.scale.max.toPrecision(4)}`;
          console.log(`  ${q.tensor}  ${q.dtype}  scale ${scale}  zero point ${q.zeroPoint}`);
        }
        const f = Object.entries(s.floatOps);
        console.log(f.length ? `float ops: ${f.map(([k, v]) => `${k} ${v}`).join(", ")}` : "float ops: none");
      }
    });
}
