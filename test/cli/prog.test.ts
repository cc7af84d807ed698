/**
 * `bpfkit prog` and `bpfkit object load` against bpftool: the objects each test loads
 * (pinned under its own bpffs directory, removed afterwards) as bpftool sees them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { bpfkit, bpfkitJson, bpftool, fixtures, pinDir, pinned } from './support.js';

const scratch = mkdtempSync(join(tmpdir(), 'bpfkit-cli-prog-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bpfkit prog: usage', () => {
  it('has --help for prog and object', async () => {
    const r = await bpfkit('prog', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: bpfkit prog list \[--json\]/);
    expect(r.stdout).toMatch(/bpfkit prog dump xlated PROG/);
    const o = await bpfkit('object', 'load', '--help');
    expect(o.code).toBe(0);
    expect(o.stdout).toMatch(/bpfkit object load FILE\.o \[--pin DIR\] \[--set NAME=VALUE \.\.\.\]/);
  });

  it('refuses bad usage with exit code 2 and the usage lines', async () => {
    for (const args of [
      ['prog'],
      ['prog', 'frobnicate'],
      ['prog', 'toString'],
      ['prog', 'list', '--bogus'],
      ['prog', 'list', 'extra'],
      ['prog', 'show'],
      ['prog', 'show', 'id', 'x'],
      ['prog', 'dump', 'jited', '1'],
      ['prog', 'dump', 'xlated', '1', '--syntax', 'intel'],
      ['prog', 'run', '1', '--repeat', 'many'],
      ['prog', 'pin', '1'],
      ['object', 'load'],
      ['object', 'load', 'x.o', '--set', 'novalue'],
      ['object', 'load', 'x.o', '--set', 'v=notanumber'],
      ['object', 'load', 'x.o', '--type', 'nonsense'],
    ]) {
      const r = await bpfkit(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage: bpfkit (prog|object)/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('a missing object file is exit code 1, named', async () => {
    const r = await bpfkit('object', 'load', join(scratch, 'missing.o'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bpfkit object load: cannot read ${join(scratch, 'missing.o')}: no such file\n`);
    expect((await bpfkit('prog', 'load', join(scratch, 'missing.o'))).code).toBe(1);
  });
});

describeKernel('bpfkit prog and object load, judged by bpftool', () => {
  const dir = pinDir('prog');
  let loaded: { programs: Array<{ id: number; name: string; type: string; tag: string; xlatedInstructions: number; mapIds: number[]; pinned: string }>; maps: Array<{ id: number; name: string; pinned: string }> };
  const xdp = () => loaded.programs.find((p) => p.name === 'cli_xdp')!;

  beforeAll(async () => {
    // verdict = 1 (XDP_DROP) instead of the object's XDP_PASS: prog run shows it.
    loaded = await bpfkitJson('object', 'load', fixtures.objects(), '--pin', dir.path, '--set', 'verdict=1');
  });
  afterAll(() => dir.remove());

  it('object load pins every program and map and reports them as bpftool sees them', () => {
    expect(loaded.programs.map((p) => p.name).sort()).toEqual(['cli_filter', 'cli_xdp']);
    expect(loaded.maps.map((m) => m.name).sort()).toEqual(['.rodata', 'cli_counts', 'cli_percpu']);
    for (const p of loaded.programs) {
      expect(p.pinned).toBe(pinned(dir, p.name));
      const judge = bpftool('prog', 'show', 'pinned', p.pinned);
      expect([p.id, p.name, p.type, p.tag, p.xlatedInstructions, p.mapIds ?? []]).toEqual([
        judge.id,
        judge.name,
        judge.type,
        judge.tag,
        judge.bytes_xlated / 8,
        judge.map_ids ?? [],
      ]);
    }
    for (const m of loaded.maps) expect(bpftool('map', 'show', 'pinned', m.pinned).id).toBe(m.id);
    expect(loaded.maps.find((m) => m.name === '.rodata')!.pinned).toBe(pinned(dir, '_rodata'));
  });

  it('prog list and prog show agree with bpftool prog show', async () => {
    const list = await bpfkitJson<Array<Record<string, unknown>>>('prog', 'list');
    for (const p of loaded.programs) {
      const judge = bpftool('prog', 'show', 'id', String(p.id));
      const fromList = list.find((l) => l.id === p.id)!;
      const shown = await bpfkitJson('prog', 'show', String(p.id));
      for (const mine of [fromList, shown]) {
        expect(mine).toMatchObject({
          id: judge.id,
          type: judge.type,
          name: judge.name,
          tag: judge.tag,
          uid: judge.uid,
          xlatedBytes: judge.bytes_xlated,
          xlatedInstructions: judge.bytes_xlated / 8,
          jitedBytes: judge.bytes_jited,
          btfId: judge.btf_id,
          mapIds: judge.map_ids ?? [],
        });
      }
      // The same program by pin path, in both spellings.
      expect((await bpfkitJson('prog', 'show', p.pinned)).id).toBe(p.id);
      expect((await bpfkitJson('prog', 'show', 'pinned', p.pinned)).id).toBe(p.id);
    }
    const text = await bpfkit('prog', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+NAME\s+TAG\s+XLATED\s+JITED\s+MAPS\s+LOADED$/);
    expect(text.stdout).toMatch(new RegExp(`^${xdp().id}\\s+xdp\\s+cli_xdp\\s+${xdp().tag}\\s+${xdp().xlatedInstructions}\\s`, 'm'));
  });

  it('prog dump xlated has bpftool\'s instructions, helper names and map ids', async () => {
    const judge = bpftool<Array<{ disasm: string }>>('prog', 'dump', 'xlated', 'id', String(xdp().id));
    for (const syntax of ['bpfkit', 'llvm']) {
      const mine = await bpfkitJson<Array<{ slot: number; insn: string }>>('prog', 'dump', 'xlated', String(xdp().id), '--syntax', syntax);
      expect(mine.length).toBe(judge.length);
    }
    const mine = await bpfkitJson<Array<{ slot: number; insn: string }>>('prog', 'dump', 'xlated', String(xdp().id));
    // Helper calls named as bpftool names them (from kallsyms), maps by id.
    const calls = (lines: string[]) => lines.map((l) => /call (\S+)/.exec(l)?.[1]).filter((c): c is string => c !== undefined);
    expect(calls(mine.map((m) => m.insn))).toEqual(calls(judge.map((j) => j.disasm)));
    expect(calls(mine.map((m) => m.insn)).some((c) => c.startsWith('__htab_map_lookup_elem#'))).toBe(true);
    const maps = (lines: string[]) => lines.flatMap((l) => [...l.matchAll(/map\[id:(\d+)\]/g)].map((m) => Number(m[1])));
    expect(maps(mine.map((m) => m.insn))).toEqual(maps(judge.map((j) => j.disasm)));
    const text = await bpfkit('prog', 'dump', 'xlated', String(xdp().id));
    expect(text.stdout).toMatch(/^ {3}0: r2 = \*\(u64 \*\)\(r1 \+ 0\)$/m);
  });

  it('prog run runs the program with BPF_PROG_TEST_RUN (the --set value decides the verdict)', async () => {
    const packet = join(scratch, 'packet');
    writeFileSync(packet, new Uint8Array(64));
    const out = join(scratch, 'out');
    const r = await bpfkitJson('prog', 'run', xdp().pinned, '--data-in', packet, '--repeat', '3', '--data-out', out);
    expect(r).toMatchObject({ retval: 1, dataOutBytes: 64, repeat: 3 });
    expect(readFileSync(out)).toEqual(Buffer.alloc(64));
    // The program counted the runs: three packets of 64 bytes.
    expect(bpftool('map', 'lookup', 'pinned', pinned(dir, 'cli_counts'), 'key', '64', '0', '0', '0').value).toEqual(['0x03', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00']);
    const text = await bpfkit('prog', 'run', String(xdp().id), '--data-in', packet);
    expect(text.stdout).toMatch(/^retval:\s+1 \(0x1\)$/m);
    const missing = await bpfkit('prog', 'run', String(xdp().id), '--data-in', join(scratch, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read --data-in/);
  });

  it('prog pin pins by id, and bpftool finds the program there', async () => {
    const path = pinned(dir, 'again');
    expect((await bpfkit('prog', 'pin', String(xdp().id), path)).code).toBe(0);
    expect(bpftool('prog', 'show', 'pinned', path).id).toBe(xdp().id);
    const twice = await bpfkit('prog', 'pin', String(xdp().id), path);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already exists/);
  });

  it('prog load pins the programs only', async () => {
    const only = pinDir('prog-load');
    try {
      const programs = await bpfkitJson<Array<{ id: number; name: string; pinned: string }>>('prog', 'load', fixtures.objects(), '--pin', only.path);
      expect(programs.map((p) => p.name).sort()).toEqual(['cli_filter', 'cli_xdp']);
      for (const p of programs) expect(bpftool('prog', 'show', 'pinned', p.pinned).id).toBe(p.id);
      expect(existsSync(pinned(only, 'cli_counts'))).toBe(false);
    } finally {
      only.remove();
    }
  });

  it('a dry run (no --pin) loads and releases', async () => {
    const r = await bpfkit('object', 'load', fixtures.objects());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^programs \(2\):$/m);
    expect(r.stdout).toMatch(/not pinned: released when bpfkit exits/);
    const id = Number(/^\s+(\d+)\s+cli_xdp/m.exec(r.stdout)![1]);
    // The collection was closed: the kernel frees the program (asynchronously, after RCU).
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = spawnSync('bpftool', ['prog', 'show', 'id', String(id)]).status !== 0;
      if (!gone) await new Promise((r) => setTimeout(r, 20));
    }
    expect(gone).toBe(true);
  });

  it('errors name what is wrong, exit code 1, no stack trace', async () => {
    const unknown = await bpfkit('prog', 'show', '4294967295');
    expect(unknown).toMatchObject({ code: 1, stderr: 'bpfkit prog: no program with id 4294967295\n' });
    const nothing = await bpfkit('prog', 'show', pinned(dir, 'nothing-here'));
    expect(nothing).toMatchObject({ code: 1, stderr: `bpfkit prog: nothing is pinned at ${pinned(dir, 'nothing-here')}\n` });
    const aMap = await bpfkit('prog', 'dump', 'xlated', pinned(dir, 'cli_counts'));
    expect(aMap).toMatchObject({ code: 1, stderr: `bpfkit prog: ${pinned(dir, 'cli_counts')} holds bpf-map, not a program\n` });
    const unknownVariable = await bpfkit('object', 'load', fixtures.objects(), '--set', 'nosuch=1');
    expect(unknownVariable).toMatchObject({ code: 1, stderr: 'bpfkit object load: no global variable nosuch in this object (variables: verdict)\n' });
    const clash = await bpfkit('object', 'load', fixtures.objects(), '--pin', dir.path);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/already exists/);
    // The failed load left no new pins behind and the old ones intact.
    expect(bpftool('prog', 'show', 'pinned', xdp().pinned).id).toBe(xdp().id);
  });

  it('a rejected program: exit 1, the source line and the end of the verifier log', async () => {
    const r = await bpfkit('object', 'load', fixtures.rejected());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^bpfkit object load: PROG_LOAD program cli_unchecked \(xdp\) failed: EACCES/);
    expect(r.stderr).toMatch(/^at: return \*\(__u32 \*\)data \+ 7; \/\* unchecked read \*\/ @ cli_rejected\.bpf\.c:10$/m);
    expect(r.stderr).toMatch(/^verifier log \(end\):$/m);
    expect(r.stderr).toMatch(/invalid access to packet/);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.ts:\d+/);
  });

  it('without privileges: exit 1 and the capability it needs', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', join(import.meta.dirname, 'entry.ts'), 'prog', 'list'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^bpfkit prog: PROG_GET_NEXT_ID failed: EPERM — needs root or CAP_BPF/);
  });
});
