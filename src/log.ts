// Structured logs (pino JSON). One root logger per process; modules take children with context.
import pino, { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = (process.env.SPILLWAY_LOG_LEVEL as LogLevel | undefined) ?? 'info'): Logger {
  return pino({ name: 'spillway', level, base: { pid: process.pid } });
}

export type { Logger };
