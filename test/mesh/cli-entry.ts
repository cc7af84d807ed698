/** Runs the bpfkit CLI from source (tests spawn it as a child process they own). */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
