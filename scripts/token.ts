// Mints tokens with the API key and secret (API_KEY and API_SECRET, or the
// file the server made on first start):
//   npm run token -- --room standup --moderator           a join token, for ?jwt=
//   npm run token -- --room '*' --name Ada --no-record    any room, without the record grant
//   npm run token -- --operator                           a bearer token for REST
import { parseArgs } from 'node:util';
import { ApiCredentialsError, DEFAULT_API_KEYS_FILE, loadApiCredentials } from '../bridge/auth/ApiCredentials.ts';
import { signToken } from '../bridge/auth/signToken.ts';
import { joinClaimsSchema, TOKEN_AUDIENCE } from '../protocol/accessTokens.ts';
import { grantsSchema } from '../protocol/protocol.ts';

const usage = `usage: npm run token -- (--room <name|*> [--moderator] [--name <display name>] [--no-publish] [--no-record] [--no-stream] [--no-dial-out] | --operator) [--ttl 2h]`;

function fail(message: string): never {
  console.error(`token: ${message}\n${usage}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      room: { type: 'string' },
      name: { type: 'string' },
      moderator: { type: 'boolean', default: false },
      operator: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '2h' },
      'no-publish': { type: 'boolean', default: false },
      'no-subscribe': { type: 'boolean', default: false },
      'no-record': { type: 'boolean', default: false },
      'no-stream': { type: 'boolean', default: false },
      'no-dial-out': { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  fail((error as Error).message);
}
if (!/^\d+\s*(s|sec|m|min|h|hr|d|day)s?$/.test(args.ttl)) fail(`--ttl ${args.ttl}: expected e.g. 30m, 2h or 7d`);

let credentials;
try {
  credentials = loadApiCredentials({ key: process.env.API_KEY, secret: process.env.API_SECRET, file: process.env.API_KEYS_FILE ?? DEFAULT_API_KEYS_FILE, create: false }).credentials;
} catch (error) {
  if (!(error instanceof ApiCredentialsError)) throw error;
  fail(error.message);
}

if (args.operator) {
  console.log(await signToken(credentials, {}, { audience: TOKEN_AUDIENCE.api, expiresIn: args.ttl }));
} else {
  if (!args.room) fail('--room or --operator is required');
  const claims = joinClaimsSchema.safeParse({
    room: args.room,
    name: args.name,
    role: args.moderator ? 'moderator' : 'participant',
    grants: grantsSchema.parse({
      publish: !args['no-publish'],
      subscribe: !args['no-subscribe'],
      record: !args['no-record'],
      stream: !args['no-stream'],
      dialOut: !args['no-dial-out'],
    }),
  });
  if (!claims.success) fail(claims.error.issues.map((issue) => `--${String(issue.path[0])}: ${issue.message}`).join('; '));
  console.log(await signToken(credentials, claims.data, { audience: TOKEN_AUDIENCE.join, expiresIn: args.ttl }));
}
