import { describe, expect, it } from 'vitest';
import { encodeCidrs, encodeConfig, parseCidr, parsePolicy, PolicyError } from '../../src/mesh/policy.js';
import { MeshConfigLayout } from '../../src/mesh/layout.js';

describe('parsePolicy', () => {
  it('reads ports, ranges and CIDRs of both families', () => {
    const p = parsePolicy(JSON.stringify({ ports: { include: ['80', 443, '8000-8100'], exclude: ['22'] }, cidrs: { include: ['10.0.0.0/8', '::1/128'], exclude: ['10.1.0.0/16'] } }));
    expect(p.enabled).toBe(true);
    expect(p.includePorts).toEqual([{ first: 80, last: 80 }, { first: 443, last: 443 }, { first: 8000, last: 8100 }]);
    expect(p.includeCidrs.map((c) => [c.family, c.prefix])).toEqual([[4, 8], [6, 128]]);
  });

  it('names what is wrong and where', () => {
    const bad: Array<[string, RegExp]> = [
      ['{', /not valid JSON/],
      ['[]', /\(root\).*JSON object/],
      ['{"enable": true}', /enable.*not a policy setting/],
      ['{"enabled": "yes"}', /enabled.*true or false/],
      ['{"ports": {"include": ["70000"]}}', /ports\.include\[0\].*1 to 65535/],
      ['{"ports": {"include": ["90-80"]}}', /ends before it starts/],
      ['{"cidrs": {"exclude": ["10.0.0.0/33"]}}', /cidrs\.exclude\[0\].*prefix length must be 0-32/],
      ['{"cidrs": {"include": ["10.0.0.256/8"]}}', /not an IPv4 or IPv6 address/],
      [JSON.stringify({ ports: { include: Array.from({ length: 17 }, (_, i) => String(i + 1)) } }), /at most 16/],
    ];
    for (const [text, re] of bad) {
      expect(() => parsePolicy(text), text).toThrow(PolicyError);
      expect(() => parsePolicy(text), text).toThrow(re);
    }
  });
});

describe('parseCidr', () => {
  it('maps IPv4 into ::ffff:0:0/96 and parses IPv6 shorthand', () => {
    expect(Array.from(parseCidr('127.0.0.1').address.subarray(10))).toEqual([0xff, 0xff, 127, 0, 0, 1]);
    expect(Array.from(parseCidr('fe80::1:2/64').address)).toEqual([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
    expect(() => parseCidr('1::2::3')).toThrow(PolicyError);
  });
});

describe('encoding', () => {
  it('lays out mesh_config and LPM keys as bpf/mesh/mesh.h does', () => {
    const p = parsePolicy('{"ports": {"include": ["8000-8100"]}, "cidrs": {"include": ["10.0.0.0/8"]}}');
    const cfg = new DataView(encodeConfig(p, 7).buffer);
    expect(cfg.byteLength).toBe(MeshConfigLayout.size);
    expect(cfg.getUint32(MeshConfigLayout.generation, true)).toBe(7);
    expect(cfg.getUint16(MeshConfigLayout.includePorts + 2, true)).toBe(8100);
    const key = encodeCidrs(p)[0]!.key;
    expect(new DataView(key.buffer).getUint32(0, true)).toBe(104);
  });
});
