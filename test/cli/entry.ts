/** Runs the bpfkit CLI from source, for tests that need it in a process of its own. */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
