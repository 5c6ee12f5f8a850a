// K real Envoy 1.40 processes, one per measured client, each with a small bootstrap: its node (the same
// node the load generator would send for that client), ADS over SotW to one address (the recording hop),
// nothing else: no admin listener, no load reports, one worker (--concurrency 1). Envoys bind the
// listeners they are sent (SO_REUSEPORT is Envoy's default, so K of them can hold the same port).
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { envoyBinary } from '../../src/demo/envoy-process';
import { BenchNode } from '../load/protocol';
import { REPO_ROOT } from '../peer-binaries';
import { stopProcess } from '../servers/child-process';

const XDS_CLUSTER = 'xds';
const LOG_TAIL_CHARS = 1_500;

export function envoyBootstrap(node: BenchNode, xdsAddress: string): Record<string, unknown> {
  const colon = xdsAddress.lastIndexOf(':');
  const metadata: Record<string, string> = { ...node.metadata };
  return {
    node: { id: node.id, cluster: 'bench', metadata, ...(node.locality ? { locality: node.locality } : {}) },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: XDS_CLUSTER,
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: XDS_CLUSTER,
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: {
                        socket_address: {
                          address: xdsAddress.slice(0, colon),
                          port_value: Number(xdsAddress.slice(colon + 1)),
                        },
                      },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  };
}

/** Every Envoy started and not yet stopped, so an interrupted run can kill them (they outlive this process otherwise). */
const liveEnvoys = new Set<ChildProcess>();

export function killAllEnvoys(): void {
  for (const child of liveEnvoys) child.kill('SIGKILL');
  liveEnvoys.clear();
}

interface RunningEnvoy {
  child: ChildProcess;
  logFile: string;
}

export class EnvoyFleet {
  private readonly envoys: RunningEnvoy[] = [];
  private readonly binary = envoyBinary(REPO_ROOT);

  /** `cores`: run every Envoy on these cores only (taskset -c), or anywhere when undefined. */
  constructor(
    private readonly workDir: string,
    private readonly cores?: string,
  ) {}

  get pids(): number[] {
    return this.envoys.map((e) => e.child.pid as number);
  }

  get size(): number {
    return this.envoys.length;
  }

  /** Starts one Envoy for `node`, its ADS stream to `xdsAddress`. */
  start(node: BenchNode, xdsAddress: string): void {
    const index = this.envoys.length;
    const bootstrapFile = path.join(this.workDir, `envoy-${index}.json`);
    const logFile = path.join(this.workDir, `envoy-${index}.log`);
    fs.writeFileSync(bootstrapFile, JSON.stringify(envoyBootstrap(node, xdsAddress)));
    const log = fs.openSync(logFile, 'w');
    const args = [
      '-c',
      bootstrapFile,
      '--disable-hot-restart',
      '--concurrency',
      '1',
      '--log-level',
      'error',
      '--drain-time-s',
      '1',
    ];
    // taskset execs Envoy, so the pid is Envoy's either way.
    const [command, argv] = this.cores ? ['taskset', ['-c', this.cores, this.binary, ...args]] : [this.binary, args];
    const child = spawn(command, argv, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    liveEnvoys.add(child);
    child.once('exit', () => liveEnvoys.delete(child));
    this.envoys.push({ child, logFile });
  }

  /** Why the fleet is broken (an Envoy exited), with the end of its log; undefined while all run. */
  exited(): string | undefined {
    const dead = this.envoys.find((e) => e.child.exitCode !== null || e.child.signalCode !== null);
    if (!dead) return undefined;
    let tail = '';
    try {
      tail = fs.readFileSync(dead.logFile, 'utf8').slice(-LOG_TAIL_CHARS);
    } catch {
      tail = '(no log)';
    }
    return `an Envoy exited (${dead.child.exitCode ?? dead.child.signalCode}); ${dead.logFile}:\n${tail}`;
  }

  /** Lines Envoys logged at warning or above (NACK reasons, bind failures), at most `limit`. */
  warnings(limit: number): string[] {
    const lines: string[] = [];
    for (const envoy of this.envoys) {
      let text = '';
      try {
        text = fs.readFileSync(envoy.logFile, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (line.trim() !== '' && lines.length < limit) lines.push(line);
      }
    }
    return lines;
  }

  async stop(): Promise<void> {
    await Promise.all(this.envoys.map((e) => stopProcess(e.child, 3_000)));
  }
}
