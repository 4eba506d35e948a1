// Which numbers the bridge may have the trunk dial: the number is read as
// E.164 (libphonenumber-js, Google's metadata), then checked against a
// built-in deny list, the operator's denied and allowed prefixes, and the
// number's type. Deny by default: with no allowed prefix nothing is dialled.
import {
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  type CountryCode,
  type NumberType,
  parsePhoneNumberWithError,
  ParseError,
} from 'libphonenumber-js/max';

/**
 * Codes no conference bridge has a reason to call, each a known toll-fraud
 * destination: the callee's side is paid per minute at rates far above any
 * country's, and some of the revenue goes back to whoever owns the number
 * (international revenue share fraud). ITU-T E.164 assigns them to networks
 * and services rather than countries, so no DIAL_OUT_ALLOWED_PREFIXES entry
 * for a country covers them and none may allow them.
 */
export const BUILT_IN_DENIED: readonly { prefix: string; what: string }[] = [
  { prefix: '+808', what: 'International Shared Cost Service' },
  { prefix: '+870', what: 'Inmarsat satellite' },
  { prefix: '+878', what: 'Universal Personal Telecommunications' },
  { prefix: '+881', what: 'Global Mobile Satellite System (Iridium, Globalstar, Thuraya)' },
  { prefix: '+882', what: 'International Networks (shared code for carriers and satellite operators)' },
  { prefix: '+883', what: 'International Networks (shared code for carriers)' },
  { prefix: '+888', what: 'OCHA disaster relief networks' },
  { prefix: '+979', what: 'International Premium Rate Service' },
  { prefix: '+991', what: 'International Telecommunications Public Correspondence Service trial' },
];

/**
 * Number types refused wherever they are: the caller pays a premium
 * (premium rate), the callee's side shares the charge (shared cost), or the
 * number forwards anywhere at a premium (personal numbers, such as the UK's
 * 070, a classic fraud route). libphonenumber knows these ranges per country.
 */
const DENIED_TYPES: ReadonlyMap<NumberType, string> = new Map<NumberType, string>([
  ['PREMIUM_RATE', 'premium-rate'],
  ['SHARED_COST', 'shared-cost'],
  ['PERSONAL_NUMBER', 'personal (forwarding)'],
]);

/** The rule that refused a number, as the refusal names it. */
export type NumberRule =
  | 'DIAL_OUT_ALLOWED_PREFIXES'
  | 'DIAL_OUT_DENIED_PREFIXES'
  | 'built-in deny list'
  | 'premium numbers'
  | 'number format';

export type NumberVerdict = { allowed: true; e164: string } | { allowed: false; rule: NumberRule; message: string; e164?: string };

export interface NumberRulesConfig {
  /** Numbers without a leading + are read as this country's. Unset: they are refused. */
  defaultCountry: CountryCode | undefined;
  allowedPrefixes: readonly string[];
  deniedPrefixes: readonly string[];
}

/** The countries' calling codes (+1, +44 ...), and the network codes of the built-in list (a denied prefix may name them). */
const CALLING_CODES: ReadonlySet<string> = new Set([
  ...getCountries().map((country) => getCountryCallingCode(country)),
  ...BUILT_IN_DENIED.map((entry) => entry.prefix.slice(1)),
]);

/**
 * A prefix as the settings give it (`+44`, `+1 212`), in E.164 digits. It must
 * start with a whole country calling code: `+4` would allow forty-odd countries.
 */
export function parsePrefix(entry: string): string {
  const prefix = entry.replace(/[\s()-]/g, '');
  if (!/^\+[0-9]{1,15}$/.test(prefix)) throw new Error(`${JSON.stringify(entry)} is not a prefix such as +44 or +1 212`);
  const digits = prefix.slice(1);
  if (![1, 2, 3].some((length) => digits.length >= length && CALLING_CODES.has(digits.slice(0, length)))) {
    throw new Error(`${entry} does not start with a country calling code (such as +1, +44, +353)`);
  }
  return prefix;
}

/** The built-in entry a prefix lies within, if any. */
export function builtInDenial(e164: string): (typeof BUILT_IN_DENIED)[number] | undefined {
  return BUILT_IN_DENIED.find((entry) => e164.startsWith(entry.prefix));
}

export function isCountryCode(value: string): value is CountryCode {
  return isSupportedCountry(value);
}

export class NumberRules {
  readonly #config: NumberRulesConfig;

  constructor(config: NumberRulesConfig) {
    this.#config = config;
  }

  /** Whether dial-out can reach any number at all. */
  get configured(): boolean {
    return this.#config.allowedPrefixes.length > 0;
  }

  check(number: string): NumberVerdict {
    const { allowedPrefixes, deniedPrefixes, defaultCountry } = this.#config;
    if (allowedPrefixes.length === 0) {
      return { allowed: false, rule: 'DIAL_OUT_ALLOWED_PREFIXES', message: 'dial-out is off: DIAL_OUT_ALLOWED_PREFIXES is not set' };
    }
    let parsed;
    try {
      parsed = parsePhoneNumberWithError(number, defaultCountry);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      const why = error.message === 'INVALID_COUNTRY' ? 'give it in international form (+ and the country code)' : 'not a phone number';
      return { allowed: false, rule: 'number format', message: `${number}: ${why}` };
    }
    const e164 = parsed.number;
    const refuse = (rule: NumberRule, message: string): NumberVerdict => ({ allowed: false, rule, message, e164 });
    const builtIn = builtInDenial(e164);
    if (builtIn) return refuse('built-in deny list', `${e164} is refused: ${builtIn.prefix} is ${builtIn.what}, on the built-in deny list`);
    const denied = deniedPrefixes.find((prefix) => e164.startsWith(prefix));
    if (denied) return refuse('DIAL_OUT_DENIED_PREFIXES', `${e164} is refused: ${denied} is in DIAL_OUT_DENIED_PREFIXES`);
    const type = parsed.getType();
    const deniedType = type && DENIED_TYPES.get(type);
    if (deniedType) return refuse('premium numbers', `${e164} is refused: a ${deniedType} number`);
    if (!parsed.isPossible()) return refuse('number format', `${e164} is not a possible number (wrong length for its country)`);
    if (!allowedPrefixes.some((prefix) => e164.startsWith(prefix))) {
      return refuse('DIAL_OUT_ALLOWED_PREFIXES', `${e164} is refused: it matches no prefix in DIAL_OUT_ALLOWED_PREFIXES`);
    }
    return { allowed: true, e164 };
  }
}
