import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeKernel, runInCgroup, scratchCgroup } from './support.js';

const helpers = join(import.meta.dirname, 'helpers');
const socket = `python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM); print('created')"`;

describeKernel('faults', () => {
  it('without privileges, the error says which capability is missing', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', join(helpers, 'try-create-map.ts')],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toMatch(/BpfError: MAP_CREATE .* failed: EPERM — needs root or CAP_BPF/);
  });

  it('a process that dies leaves nothing attached', async () => {
    const cgroup = scratchCgroup();
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', join(helpers, 'attach-and-wait.ts'), cgroup.path], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('attached') && resolve());
        child.on('exit', (code) => reject(new Error(`helper exited early (${code})`)));
      });
      expect(runInCgroup(cgroup.path, socket)).toMatch(/PermissionError/);
      child.kill('SIGKILL');
      await exited;
      // The link's fd died with the process; the kernel releases the link asynchronously.
      let out = '';
      for (let i = 0; i < 50; i++) {
        out = runInCgroup(cgroup.path, socket);
        if (out.includes('created')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(out).toMatch(/created/);
    } finally {
      cgroup.remove();
    }
  });
});
