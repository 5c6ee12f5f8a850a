// Structured logs (pino). JSON by default; readable, coloured lines when writing to a terminal.
import pino, { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(
  level: LogLevel = (process.env.SPILLWAY_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  format: LogFormat = 'json',
): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY);
  const options = { name: 'spillway', level, base: { pid: process.pid } };
  if (!pretty) return pino(options);
  return pino(
    options,
    pino.transport({
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,name' },
    }),
  );
}

export type { Logger };
