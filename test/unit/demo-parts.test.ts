// The demo runner's small parts: the one stop (the first reason wins, everyone waiting hears it) and the
// terminal lines of the startup steps.
import { PassThrough } from 'stream';
import { DemoOutput, STARTUP_STEPS } from '../../src/demo/demo-output';
import { StopRequest } from '../../src/demo/stop-request';

describe('the demo stop request', () => {
  test('the first reason wins and resolves what waits on it', async () => {
    const stop = new StopRequest();
    expect(stop.reason).toBeUndefined();
    stop.request('q');
    stop.request('SIGTERM');
    expect(stop.reason).toBe('q');
    await expect(stop.requested).resolves.toBe('q');
  });
});

describe('the demo output', () => {
  test('steps are numbered out of the startup steps, details indented, every line ends once', () => {
    const out = new PassThrough();
    const output = new DemoOutput(out);
    output.step(2, 'starting Spillway');
    output.detail('all free');
    output.say('ready\n');
    output.say('');
    expect(String(out.read())).toBe(`[2/${STARTUP_STEPS}] starting Spillway\n      all free\nready\n\n`);
  });
});
