import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { PortPool, type SocketPair } from '../../media/PortPool.ts';
import { sourceAddressToward } from '../../media/sourceAddress.ts';
import { freePortRange } from '../helpers/ports.ts';

describe('RTP port pairs', () => {
  const opened: { pool: PortPool; pair: SocketPair }[] = [];
  const held: dgram.Socket[] = [];
  afterEach(() => {
    for (const { pool, pair } of opened.splice(0)) pool.release(pair);
    for (const socket of held.splice(0)) socket.close();
  });

  const hold = (port: number, address = '0.0.0.0') =>
    new Promise<void>((resolve) => {
      const socket = dgram.createSocket('udp4');
      held.push(socket);
      socket.bind(port, address, () => resolve());
    });

  it('skips a port another program holds and takes the next pair', async () => {
    const found = await freePortRange(9);
    const base = found + (found % 2); // RTP ports are even: the pool's first pair starts here
    await hold(base + 1); // the RTCP half of the first pair
    const pool = new PortPool('0.0.0.0', base, base + 7);
    const pair = await pool.open();
    opened.push({ pool, pair });
    expect(pair.port).toBe(base + 2);
    expect(pair.rtp.address().port).toBe(base + 2);
    expect(pair.rtcp.address().port).toBe(base + 3);
  });

  it('binds a pair to the address asked for, so its packets leave from it', async () => {
    const base = await freePortRange(4);
    const pool = new PortPool('0.0.0.0', base, base + 3);
    const pair = await pool.open('127.0.0.1');
    opened.push({ pool, pair });
    expect(pair.rtp.address().address).toBe('127.0.0.1');
    expect(pair.rtcp.address().address).toBe('127.0.0.1');
  });

  it('says so when the address is not one of this host (rather than calling the range full)', async () => {
    const base = await freePortRange(4);
    const pool = new PortPool('0.0.0.0', base, base + 3);
    await expect(pool.open('198.51.100.7')).rejects.toThrow(/cannot bind an RTP port on 198\.51\.100\.7/);
    expect(pool.inUse).toBe(0);
  });

  it('finds the source address the kernel uses toward a destination', async () => {
    expect(await sourceAddressToward('127.0.0.1')).toBe('127.0.0.1');
    expect(await sourceAddressToward('127.0.0.2')).toBe('127.0.0.1');
  });
});
