import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs; human-readable when a person watches the terminal. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    level,
    name,
    transport: process.stdout.isTTY ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } : undefined,
  });
}
