/**
 * The local stack's calls forwarded to moto, against a stand-in HTTP server: the stack's abort
 * signal must not gather a listener per call (a stack left running for days would pile them up,
 * and node warns with MaxListenersExceededWarning), yet stopping the stack still ends a call in
 * flight.
 */
import { getEventListeners } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsRouter, type AwsRouterParts } from '../../local/aws-router.ts';

let server: http.Server;
let endpoint: string;
/** Requests whose answer the stand-in holds back until released. */
const held: Array<() => void> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const answer = () => res.writeHead(200, { 'content-type': 'text/xml' }).end('<ok/>');
    if (req.url === '/hold') held.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  held.splice(0).forEach((answer) => answer());
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A router whose only live part is the path to "moto"; `forward` uses nothing else. */
function router(signal: AbortSignal): AwsRouter {
  return new AwsRouter({ motoEndpoint: endpoint, signal, log: () => undefined } as unknown as AwsRouterParts);
}

const request = (url = '/') =>
  ({ url, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } }) as unknown as IncomingMessage;
const abortListeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('calls forwarded to moto', () => {
  it('leave no listener on the stack signal: the count stays flat over a thousand calls', async () => {
    const stack = new AbortController();
    const aws = router(stack.signal);
    const counts: number[] = [];

    for (let call = 1; call <= 1_000; call++) {
      const answer = await aws.forward(request(), Buffer.from('Action=GetUser&UserName=bob'));
      expect(answer.status).toBe(200);
      if (call % 100 === 0) counts.push(abortListeners(stack.signal));
    }

    expect(counts).toEqual(Array(10).fill(0));
  });

  it('holds one listener per call in flight, and none once they are answered', async () => {
    const stack = new AbortController();
    const aws = router(stack.signal);

    const pending = Array.from({ length: 5 }, () => aws.forward(request('/hold'), Buffer.alloc(0)));
    await expect.poll(() => held.length).toBe(5);
    expect(abortListeners(stack.signal)).toBe(5);

    held.splice(0).forEach((answer) => answer());
    await Promise.all(pending);
    expect(abortListeners(stack.signal)).toBe(0);
  });

  it('still end when the stack stops while they are in flight', async () => {
    const stack = new AbortController();
    const aws = router(stack.signal);

    const pending = aws.forward(request('/hold'), Buffer.alloc(0));
    await expect.poll(() => held.length).toBe(1);
    stack.abort(new Error('stack stopped'));

    await expect(pending).rejects.toThrow('stack stopped');
    expect(abortListeners(stack.signal)).toBe(0);
    held.splice(0).forEach((answer) => answer());
  });

  it('are refused once the stack has stopped', async () => {
    const stack = new AbortController();
    stack.abort(new Error('stack stopped'));
    await expect(router(stack.signal).forward(request(), Buffer.alloc(0))).rejects.toThrow('stack stopped');
  });
});
