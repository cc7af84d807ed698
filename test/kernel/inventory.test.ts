import { expect, it } from 'vitest';
import { FP, ProgramBuilder, R0, R1, R2, reg } from '../../src/isa/index.js';
import { attachRawTracepoint } from '../../src/kernel/attach.js';
import { listLinks, listMaps, listPrograms, xlatedInstructions } from '../../src/kernel/inventory.js';
import { createMap } from '../../src/kernel/map-create.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { LinkType } from '../../src/uapi/index.js';
import { describeKernel } from './support.js';

describeKernel('inventory', () => {
  it('lists programs (with their maps), maps and links, and dumps xlated instructions', () => {
    using map = createMap({ type: 'ARRAY', name: 'inv_map', valueSize: 8, maxEntries: 1 });
    const insns = new ProgramBuilder()
      .store(4, FP, -4, 0)
      .lddwPseudo(R1, 'map_fd', map.fd)
      .mov64(R2, reg(FP))
      .alu64('add', R2, -4)
      .call(1)
      .mov64(R0, 0)
      .exit()
      .build();
    using prog = KernelProgram.load({ type: 'RAW_TRACEPOINT', name: 'inv_prog', instructions: insns });
    using link = attachRawTracepoint(prog, 'sys_enter');
    const progId = prog.info().id;
    const mapId = map.info().id;

    const program = listPrograms().find((p) => p.id === progId)!;
    expect(program).toMatchObject({ name: 'inv_prog', typeName: 'raw_tracepoint', mapIds: [mapId] });
    expect(program.tag).toBe(prog.info().tag);
    expect(listMaps().find((m) => m.id === mapId)).toMatchObject({ name: 'inv_map', typeName: 'array', valueSize: 8, maxEntries: 1 });
    expect(listLinks().find((l) => l.programId === progId)).toMatchObject({ type: LinkType.RAW_TRACEPOINT, id: link.info().id });

    const xlated = xlatedInstructions(prog.fd);
    expect(xlated.length).toBeGreaterThanOrEqual(insns.length);
    expect(xlated.at(-1)!.code).toBe(0x95); // exit
  });
});
