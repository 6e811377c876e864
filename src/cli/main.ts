/**
 * The `octet` command: argument parsing (commander) and printing over the library API.
 * Every failure prints one line `octet: error: …` and exits with code 1.
 */
import { Command, CommanderError } from "commander";
import { registerAnalyze, registerReport } from "./analyze.js";
import { registerCompare } from "./compare.js";
import { registerInspect } from "./inspect.js";
import { registerQuantize } from "./quantize.js";
import { registerRun } from "../runtime/cli.js";
import { registerQat } from "../train/cli.js";

export async function main(argv: string[]): Promise<number> {
  const program = new Command("octet")
    .description("Quantize neural networks to 8 bits and below (ONNX in, QDQ ONNX out).")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();
  registerQuantize(program);
  registerCompare(program);
  registerInspect(program);
  registerAnalyze(program);
  registerReport(program);
  registerRun(program);
  registerQat(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`octet: error: ${(e as Error).message}\n`);
    if (process.env.OCTET_DEBUG) console.error(e);
    return 1;
  }
}
