/**
 * The `bpfkit` command: dispatches to one module per subcommand.
 * Each subcommand module exports `run(args): Promise<number>` and a help text.
 */
export interface Command {
  /** One line for the overview. */
  summary: string;
  /** Full usage text for `bpfkit CMD --help`. */
  help: string;
  run(args: string[]): Promise<number>;
}

type Loader = () => Promise<Command>;

/** Subcommands are loaded lazily so `bpfkit disasm` never loads the kernel backend. */
const commands: Record<string, Loader> = {};

/** Register a subcommand (called by src/cli/commands.ts). */
export function registerCommand(name: string, load: Loader): void {
  commands[name] = load;
}

function overview(): string {
  const names = Object.keys(commands).sort();
  return [
    'bpfkit: eBPF for TypeScript',
    '',
    'usage: bpfkit COMMAND [ARGS...]   (bpfkit COMMAND --help for details)',
    '',
    'commands:',
    ...names.map((n) => `  ${n}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  await import('./commands.js');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview() + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`bpfkit: unknown command "${name}"\n\n${overview()}\n`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help.trimEnd() + '\n');
    return 0;
  }
  return cmd.run(rest);
}
