#!/usr/bin/env node
// The demo's traffic generator on its own, for docker-compose (next to a sidecar, as an app would be):
// `node dist/src/demo/traffic-main.js --url http://127.0.0.1:15001/ --host checkout.shop.svc.cluster.local`.
// Prints what answered every 10 seconds; stops on SIGTERM/SIGINT.
import { FlagSpec, parseFlags } from '../flags/flags';
import { MAX_REQUESTS_PER_SECOND, TrafficGenerator, formatTrafficWindow } from './traffic';

const SUMMARY_INTERVAL_MS = 10_000;

const FLAGS: FlagSpec[] = [
  {
    name: 'url',
    value: 'URL',
    help: 'where to send requests (the sidecar outbound listener)',
    default: 'http://127.0.0.1:15001/',
  },
  { name: 'host', value: 'HOST', help: 'Host header: the service to call', default: 'checkout.shop.svc.cluster.local' },
  { name: 'rps', value: 'N', help: `requests per second (max ${MAX_REQUESTS_PER_SECOND})`, default: '4' },
];

function main(): void {
  const parsed = parseFlags(process.argv.slice(2), FLAGS);
  if (!parsed.ok) {
    process.stderr.write(`traffic: ${parsed.error}\n`);
    process.exit(2);
  }
  const flag = (name: string) => parsed.flags.get(name) as string;
  let traffic: TrafficGenerator;
  try {
    traffic = new TrafficGenerator({
      url: flag('url'),
      hostHeader: flag('host'),
      requestsPerSecond: Number(flag('rps')),
    });
  } catch (error) {
    process.stderr.write(`traffic: ${error instanceof Error ? error.message : String(error)} (--rps)\n`);
    process.exit(2);
  }
  traffic.start();
  process.stdout.write(`traffic: ${flag('rps')} requests/s to ${flag('url')} with Host ${flag('host')}\n`);
  const summary = setInterval(
    () => process.stdout.write(`${formatTrafficWindow(traffic.takeWindow())}\n`),
    SUMMARY_INTERVAL_MS,
  );
  const stop = () => {
    clearInterval(summary);
    void traffic.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) main();
