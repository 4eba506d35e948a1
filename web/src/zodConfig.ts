// Imported first by main.tsx, so it runs before any schema is built.
// Zod compiles parsers with Function() where it may; under the server's
// Content-Security-Policy (no 'unsafe-eval') even its probe for that is a
// reported violation. Its interpreted parsers are fast enough here.
import { z } from 'zod';

z.config({ jitless: true });
