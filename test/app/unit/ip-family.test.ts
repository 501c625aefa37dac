import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipFamily } from '../../../src/interfaces/http/ip-family.js';

// ipFamily replaces net.isIP (which loads all of Node's streams) in the monitor's
// options: it must answer exactly as net.isIP does, for literals and for junk.
const FIXED = [
  '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '127.1', '0x7f.0.0.1', ' 127.0.0.1', '127.0.0.1 ',
  '::', '::1', '[::1]', '1::', 'fe80::1%eth0', 'fe80::1%', '::ffff:127.0.0.1', '2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', ':::', '1::2::3', 'g::1', '::ffff:1.2.3.256', 'localhost', '', '%', '::%a',
];

/** Strings near IP literals: digits, hex, dots, colons, a zone id now and then. */
function randomCandidate(random: () => number): string {
  const alphabet = '0123456789abcdefABCDEF.:%g ';
  const length = Math.floor(random() * 40);
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ipFamily', () => {
  it.each(FIXED)('agrees with net.isIP on %j', (input) => {
    expect(ipFamily(input)).toBe(isIP(input));
  });

  it('agrees with net.isIP on 20 000 generated strings and on mutations of valid literals', () => {
    const random = mulberry32(17);
    const disagreements: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const input = randomCandidate(random);
      if (ipFamily(input) !== isIP(input)) disagreements.push(input);
    }
    const valid = ['192.168.10.200', '2001:db8:85a3::8a2e:370:7334', '::ffff:10.0.0.1', 'fe80::abcd%lo'];
    for (const literal of valid) {
      for (let at = 0; at <= literal.length; at++) {
        for (const c of ['', '0', ':', '.', 'f', '%']) {
          const input = literal.slice(0, at) + c + literal.slice(at + (c === '' ? 1 : 0));
          if (ipFamily(input) !== isIP(input)) disagreements.push(input);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('finds both families (the generated strings are not all junk)', () => {
    expect(ipFamily('10.1.2.3')).toBe(4);
    expect(ipFamily('fd00::7')).toBe(6);
  });
});
