import { describe, expect, it } from 'vitest';
import { ipLiteral, isPublicAddress } from '../../../src/core/media/addresses.ts';

describe('isPublicAddress', () => {
  it('accepts public unicast, IPv4 and IPv6 (an IPv4 inside an IPv6 form by the IPv4 rules)', () => {
    for (const address of ['8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '[2a00:1450::1]'])
      expect(isPublicAddress(address), address).toBe(true);
  });

  it('refuses loopback, private, link-local, CGNAT, ULA, multicast, documentation and reserved ranges, however written', () => {
    const refused = [
      '127.0.0.1',
      '127.255.255.254',
      '0.0.0.0',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '192.0.2.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::127.0.0.1',
      '64:ff9b::a00:1',
      '2002:a00:1::',
      'fe80::1',
      'fd12:3456::1',
      'fc00::',
      'ff02::1',
      '2001:db8::1',
    ];
    for (const address of refused) expect(isPublicAddress(address), address).toBe(false);
  });

  it('is false for anything that is no IP literal, and ipLiteral tells them apart', () => {
    for (const text of ['localhost', 'example.com', '1::2::3', '1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', '', '::g']) {
      expect(isPublicAddress(text), text).toBe(false);
      expect(ipLiteral(text), text).toBeNull();
    }
    expect(ipLiteral('1:2:3:4:5:6:7:8')).toEqual({ family: 6, groups: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(ipLiteral('::ffff:1.2.3.4')).toEqual({ family: 6, groups: [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304] });
  });
});
