/** The compile report as text: what runs on integers, what stays in float and why, warnings. */
import type { CompileReport } from "./compile/compiler.js";

export function formatReport(report: CompileReport, options: { verbose?: boolean } = {}): string {
  const c = report.counts;
  const lines: string[] = [];
  lines.push(`kernels: ${report.backend}`);
  lines.push(`steps: ${c.integer} integer, ${c.float} float, ${c.boundary} quantize/dequantize, ${c.shape} shape arithmetic`);
  if (report.floatNodes.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const f of report.floatNodes) {
      const key = `${f.opType}: ${f.reason}`;
      byReason.set(key, [...(byReason.get(key) ?? []), f.node]);
    }
    lines.push("in float32:");
    for (const [key, nodes] of byReason) {
      const shown = options.verbose || nodes.length <= 3 ? nodes.join(", ") : `${nodes.slice(0, 3).join(", ")}, … (${nodes.length})`;
      lines.push(`  ${nodes.length}× ${key} [${shown}]`);
    }
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  if (options.verbose) {
    lines.push("steps in order:");
    for (const s of report.steps) lines.push(`  ${s.kind.padEnd(8)} ${s.opType} [${s.nodes.join(", ")}]`);
  }
  return lines.join("\n");
}
