// Facts about the machine and the software measured, for the report's header.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../peer-binaries';

export interface MachineFacts {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  loadAverage: string;
  node: string;
  go: string;
  goControlPlane: string;
  istio: string;
}

function goVersion(): string {
  const result = spawnSync('go', ['version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().replace(/^go version /, '') : 'not installed';
}

function requiredVersion(goMod: string, module: string): string {
  const match = new RegExp(`^\\s*${module.replace(/[./]/g, '\\$&')} (\\S+)`, 'm').exec(goMod);
  return match ? match[1] : '?';
}

export function machineFacts(): MachineFacts {
  const goMod = fs.readFileSync(path.join(REPO_ROOT, 'bench/peers/go-control-plane/go.mod'), 'utf8');
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? '?',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    node: process.version,
    go: goVersion(),
    goControlPlane: `github.com/envoyproxy/go-control-plane ${requiredVersion(goMod, 'github.com/envoyproxy/go-control-plane')} (envoy API ${requiredVersion(goMod, 'github.com/envoyproxy/go-control-plane/envoy')}), grpc-go ${requiredVersion(goMod, 'google.golang.org/grpc')}`,
    istio: `istio.io/istio ${fs.readFileSync(path.join(REPO_ROOT, 'bench/peers/istiod/ISTIO_VERSION'), 'utf8').trim()}`,
  };
}
