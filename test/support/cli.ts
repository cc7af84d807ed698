/** Running `bpfkit` in-process in tests, with its exit code and output captured. */
import { vi } from 'vitest';
import { main, type Command } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `bpfkit ARGS...` (or one command's `run`, when `command` is given), capturing output. */
export async function runCli(args: string[], command?: Command): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = command ? await command.run(args) : await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** `bpfkit ARGS...` in-process. */
export function bpfkit(...args: string[]): Promise<CliResult> {
  return runCli(args);
}
