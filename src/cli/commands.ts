/** The table of subcommands. Each entry loads its module on first use. */
import { registerCommand } from './main.js';

// Subcommands register here, one line each, e.g.:
// registerCommand('disasm', async () => (await import('./disasm.js')).command);
void registerCommand;
registerCommand('disasm', async () => (await import('./disasm.js')).command);
registerCommand('conformance', async () => (await import('./conformance.js')).command);
registerCommand('asm', async () => (await import('./asm.js')).command);
registerCommand('object', async () => (await import('./object.js')).command);
registerCommand('btf', async () => (await import('./btf.js')).command);
registerCommand('mesh', async () => (await import('./mesh.js')).command);
registerCommand('prog', async () => (await import('./prog.js')).command);
registerCommand('map', async () => (await import('./map.js')).command);
registerCommand('link', async () => (await import('./link.js')).command);
registerCommand('feature', async () => (await import('./feature.js')).command);
