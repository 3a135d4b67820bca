import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createAddressMatcher, normalizeIp, tokenMatches } from '../../../src/http/private-boundary.js';

describe('CIDR matching for the private boundary', () => {
  test('loopback is always allowed (IPv4 /8, IPv6 ::1, IPv4-mapped)', () => {
    const m = createAddressMatcher([]);
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(m(ip), true, ip);
    for (const ip of ['10.0.0.1', '::2', '::ffff:10.0.0.1', '203.0.113.9', '0.0.0.0']) assert.equal(m(ip), false, ip);
  });

  test('IPv4 ranges and single addresses', () => {
    const m = createAddressMatcher(['10.0.0.0/8', '192.168.1.0/24', '203.0.113.7']);
    assert.equal(m('10.255.255.255'), true);
    assert.equal(m('11.0.0.0'), false);
    assert.equal(m('192.168.1.200'), true);
    assert.equal(m('192.168.2.1'), false);
    assert.equal(m('203.0.113.7'), true);
    assert.equal(m('203.0.113.8'), false);
    assert.equal(m('::ffff:192.168.1.5'), true, 'IPv4-mapped form of an allowed address');
  });

  test('IPv6 ranges', () => {
    const m = createAddressMatcher(['2001:db8::/32', 'fd00::/8']);
    assert.equal(m('2001:db8:1234::1'), true);
    assert.equal(m('2001:db9::1'), false);
    assert.equal(m('fd12:3456::1'), true);
    assert.equal(m('fe80::1'), false);
  });

  test('/0 and /32 edges', () => {
    assert.equal(createAddressMatcher(['0.0.0.0/0'])('8.8.8.8'), true);
    assert.equal(createAddressMatcher(['8.8.8.8/32'])('8.8.8.9'), false);
  });

  test('loopback can be left out', () => {
    assert.equal(createAddressMatcher([], { loopback: false })('127.0.0.1'), false);
  });

  test('garbage addresses never match', () => {
    const m = createAddressMatcher(['0.0.0.0/0']);
    for (const ip of [undefined, '', 'localhost', '999.1.1.1', '1.2.3', '::ffff:999.0.0.1']) assert.equal(m(ip), false, String(ip));
  });

  test('bad configuration is refused when building the matcher', () => {
    assert.throws(() => createAddressMatcher(['10.0.0.0/33']), /prefix/);
    assert.throws(() => createAddressMatcher(['not-an-ip']), /not an IP/);
  });

  test('normalizeIp unwraps IPv4-mapped IPv6', () => {
    assert.equal(normalizeIp('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(normalizeIp('::FFFF:1.2.3.4'), '1.2.3.4');
    assert.equal(normalizeIp('2001:db8::1'), '2001:db8::1');
  });
});

describe('internal token comparison', () => {
  test('matches only the exact token, whatever the lengths', () => {
    const t = 'internal-token-0123456789';
    assert.equal(tokenMatches(t, t), true);
    assert.equal(tokenMatches(`${t}x`, t), false);
    assert.equal(tokenMatches(t.slice(0, -1), t), false);
    assert.equal(tokenMatches('', t), false);
    assert.equal(tokenMatches(t.toUpperCase(), t), false);
  });
});

describe('the address a failed login is counted against', async () => {
  const { addressKey, throttleKeys } = await import('../../../src/modules/auth/throttle.js');

  test('IPv4 as is, IPv4-mapped unwrapped', () => {
    assert.equal(addressKey('203.0.113.9'), '203.0.113.9');
    assert.equal(addressKey('::ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(addressKey(undefined), 'unknown');
  });

  test('IPv6 per /64, whatever the spelling', () => {
    const k = '2001:db8:1:2::/64';
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:0db8:0001:0002:0:0:0:9', '2001:DB8:1:2::ffff', '2001:db8:1:2::1%eth0']) {
      assert.equal(addressKey(ip), k, ip);
    }
    assert.notEqual(addressKey('2001:db8:1:3::1'), k);
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64');
  });

  test('throttle keys name the username and the address', () => {
    assert.deepEqual(throttleKeys('alice', '2001:db8:1:2::7'), { user: 'user:alice', ip: 'ip:2001:db8:1:2::/64' });
  });
});
