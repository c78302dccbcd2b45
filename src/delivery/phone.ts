import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** E.164 (`+14155550123`) for a valid number, else null. National numbers are read in `defaultCountry`. */
export function normalizePhone(input: string, defaultCountry: string): string | null {
  const parsed = parsePhoneNumberFromString(input.trim(), defaultCountry as CountryCode);
  return parsed?.isValid() ? parsed.number : null;
}
