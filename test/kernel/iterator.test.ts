import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection } from '../../src/kernel/collection.js';
import { IteratorLink } from '../../src/kernel/iterator.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount } from './support.js';

describeKernel('BPF iterators', () => {
  it('iter/task lists every process, read whole and as a stream', async () => {
    const before = openFdCount();
    {
      using coll = loadCollection(loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/iter.c'))));
      const link = coll.attach('dump_task');
      expect(link).toBeInstanceOf(IteratorLink);
      const iter = link as IteratorLink;
      const me = `${process.pid} ${readFileSync('/proc/self/comm', 'utf8').trim()}`;
      const lines = iter.readAll().toString().trim().split('\n');
      expect(lines).toContain(me);
      expect(lines).toContain('2 kthreadd');
      expect(lines.length).toBeGreaterThan(10);
      let streamed = '';
      for await (const chunk of iter.stream()) streamed += chunk.toString();
      expect(streamed.split('\n')).toContain(me);
    }
    expect(openFdCount()).toBe(before);
  });
});
