import fs from 'node:fs';
import { parse } from 'yaml';

const COMPOSE = new URL('../../docker-compose.yml', import.meta.url);

/**
 * A service's environment as docker-compose.yml gives it, with compose's
 * `${NAME:-default}` and `${NAME:?message}` resolved from `variables` (as
 * compose resolves them from the shell or .env), so tests run the services
 * with the settings operators get.
 */
export function composeEnvironment(service: string, variables: Record<string, string>): Record<string, string> {
  const compose = parse(fs.readFileSync(COMPOSE, 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };
  const environment = compose.services[service]?.environment;
  if (!environment) throw new Error(`docker-compose.yml has no environment for ${service}`);
  const resolve = (value: string) =>
    value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_match, name: string, kind: string | undefined, rest: string | undefined) => {
      const given = variables[name];
      if (given !== undefined && given !== '') return given;
      if (kind === '?') throw new Error(`docker-compose.yml: ${service} needs ${name}: ${rest}`);
      return rest ?? '';
    });
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, resolve(String(value))]));
}
