import { expect } from 'vitest';
import { ConfigError } from '../../common/config.ts';

/** The message of the ConfigError that `load(env)` must throw. */
export function configError(load: (env: Record<string, string>) => unknown, env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}
