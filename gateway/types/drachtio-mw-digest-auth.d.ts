// The package ships no types; this is the part the gateway uses.
declare module 'drachtio-mw-digest-auth' {
  import type Srf from 'drachtio-srf';

  interface DigestAuthOptions {
    realm: string | ((req: Srf.SrfRequest) => string);
    passwordLookup: (username: string, realm: string, callback: (error: Error | null, password: string | null) => void) => void;
    proxy?: boolean;
  }

  export default function digestAuth(
    options: DigestAuthOptions,
  ): (req: Srf.SrfRequest, res: Srf.SrfResponse, next: () => void) => void;
}
