import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveCodeShape, shapeMismatch } from '../../src/codes/index.ts';
import { type CsvRecord, CsvSyntaxError, csvPieces, csvText } from '../../src/imports/csv.ts';
import { type ChunkSink, storeCsv } from '../../src/imports/imports.ts';
import { type AcceptedRow, checkedRows, checkRecord, csvHeader, type RejectedRow } from '../../src/imports/records.ts';
import { ValidationError } from '../../src/shared/errors.ts';

async function records(pieces: (string | Buffer)[]): Promise<Omit<CsvRecord, 'end'>[]> {
  const out: Omit<CsvRecord, 'end'>[] = [];
  for await (const piece of csvPieces(Readable.from(pieces))) for (const { fields, line } of piece.records) out.push({ fields, line });
  return out;
}

/** The text cut into pieces of `size` characters (the stream a socket may deliver). */
const cut = (text: string, size: number) =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

const SAMPLE = '\ufeffcode,metadata\r\n"A,1","say ""hi"""\r\n\r\nB2,"two\nlines"\rC3,\n"",x\n,,\n';
const EXPECTED = [
  { fields: ['code', 'metadata'], line: 1 },
  { fields: ['A,1', 'say "hi"'], line: 2 },
  { fields: ['B2', 'two\nlines'], line: 4 },
  { fields: ['C3', ''], line: 6 },
  { fields: ['', 'x'], line: 7 },
  { fields: ['', '', ''], line: 8 },
];

describe('CSV records', () => {
  it('reads quoted fields, doubled quotes, line breaks in quotes, CRLF/LF/CR, a BOM and blank lines', async () => {
    expect(await records([SAMPLE])).toEqual(EXPECTED);
  });

  it('reads the same records however the stream is cut, even inside a CRLF, a doubled quote or a UTF-8 character', async () => {
    for (const size of [1, 2, 3, 5, 7, 13]) expect(await records(cut(SAMPLE, size)), `pieces of ${size}`).toEqual(EXPECTED);
    const utf8 = Buffer.from('code,metadata.name\nÄ1,Zoë\n');
    const bytes = Array.from({ length: utf8.length }, (_, i) => utf8.subarray(i, i + 1));
    expect((await records(bytes)).map((r) => r.fields)).toEqual([
      ['code', 'metadata.name'],
      ['Ä1', 'Zoë'],
    ]);
  });

  it('bounds the same records when it splits only the header (the upload), refusing the same syntax', async () => {
    const bounds = async (pieces: string[], fields: 'all' | 'header') => {
      const out: [number, number, number][] = [];
      let offset = 0;
      for await (const piece of csvPieces(Readable.from(pieces), fields)) {
        for (const r of piece.records) out.push([r.line, offset + r.end, out.length > 0 ? r.fields.length : -1]);
        offset += piece.text.length;
      }
      return out;
    };
    for (const size of [1, 4, 1000]) {
      const all = await bounds(cut(SAMPLE, size), 'all');
      const header = await bounds(cut(SAMPLE, size), 'header');
      expect(header.map(([line, end]) => [line, end])).toEqual(all.map(([line, end]) => [line, end]));
      expect(header.slice(1).every(([, , n]) => n === 0)).toBe(true);
    }
    let first: string[] | undefined;
    for await (const piece of csvPieces(Readable.from([SAMPLE]), 'header')) first ??= piece.records[0]?.fields;
    expect(first).toEqual(['code', 'metadata']);
    await expect(bounds(['code\nAB"C\n'], 'header')).rejects.toThrow('a quote inside an unquoted field');
    await expect(bounds(['code\n"AB"C\n'], 'header')).rejects.toThrow('text after a closing quote');
    await expect(bounds(['code\nA\n"B\nC\n'], 'header')).rejects.toThrow('line 3: a quoted field is not closed');
  });

  it('refuses a quote inside an unquoted field, text after a closing quote and an unclosed quote, naming the line', async () => {
    const failure = (text: string) =>
      records([text]).then(
        () => undefined,
        (error: Error) => error,
      );
    for (const [text, line, message] of [
      ['code\nAB"C\n', 2, 'a quote inside an unquoted field'],
      ['code\n"AB"C\n', 2, 'text after a closing quote'],
      ['code\nA\n"B\nC\n', 3, 'a quoted field is not closed'],
    ] as const) {
      const error = await failure(text);
      expect(error).toBeInstanceOf(CsvSyntaxError);
      expect(error).toMatchObject({ line });
      expect(error?.message).toContain(message);
    }
  });

  it('ends each record where its text ends, so the text can be cut between records', async () => {
    const text = 'code\r\nA\r\n"B\r\nB"\r\nC';
    const ends: number[] = [];
    for (const [i, record] of [...csvText(text)].flat().entries()) ends[i] = record.end;
    expect(ends.map((end, i) => text.slice(ends[i - 1] ?? 0, end))).toEqual(['code\r\n', 'A\r\n', '"B\r\nB"\r\n', 'C']);
  });
});

describe('the import CSV header', () => {
  it('matches columns ignoring case, spaces and dashes, takes aliases and metadata.<key>', () => {
    const header = csvHeader([' Code ', 'Redemption Quantity', 'redemption.redeemed_quantity', 'Expiration-Date', 'metadata.Tier']);
    expect(header.codeIndex).toBe(0);
    expect(header.readers).toHaveLength(5);
  });

  it('refuses unknown, repeated and missing columns, each named', () => {
    const refusal = (fields: string[]) => {
      try {
        csvHeader(fields);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).code).toBe('csv_header_invalid');
        return (error as ValidationError).errors.map((e) => e.field);
      }
      return [];
    };
    expect(refusal(['code', 'colour'])).toEqual(['colour']);
    expect(refusal(['code', 'CODE'])).toEqual(['code']);
    expect(refusal(['active'])).toEqual(['code']);
    expect(refusal(['code', 'metadata.'])).toEqual(['metadata.']);
  });
});

describe('import rows', () => {
  const at = { row: 1, line: null };
  const shape = resolveCodeShape({ prefix: 'AB-', length: 4, charset: 'numbers' });
  const reason = (raw: unknown) => (checkRecord(raw, at, shape) as RejectedRow).reason;

  it('normalizes an accepted row: code upper-cased and trimmed, quantity and uses, holder as a customer', () => {
    expect(
      checkRecord(
        { code: ' ab-1234 ', redemption: { quantity: null, redeemed_quantity: 4 }, holder: 'c-1', metadata: {}, active: false },
        at,
        shape,
      ),
    ).toEqual({
      row: 1,
      line: null,
      code: 'AB-1234',
      active: false,
      quantity: null,
      redeemed: 4,
      startDate: null,
      expirationDate: null,
      metadata: null,
      holder: { id: 'c-1' },
    } satisfies AcceptedRow);
  });

  it('gives every bad row its reason', () => {
    expect(reason(['AB-1234'])).toBe('row_invalid');
    expect(reason({ code: 'AB-1234', colour: 'red' })).toBe('field_unknown');
    expect(reason({ code: 'AB-1234', redemption: { quantity: 1, limit: 2 } })).toBe('field_unknown');
    expect(reason({})).toBe('code_missing');
    expect(reason({ code: '   ' })).toBe('code_missing');
    expect(checkRecord({ code: 'AB 1234' }, at, null)).toMatchObject({ reason: 'code_invalid' });
    expect(checkRecord({ code: 'x'.repeat(97) }, at, null)).toMatchObject({ reason: 'code_invalid' });
    expect(reason({ code: 42 })).toBe('code_invalid');
    expect(reason({ code: 'AB-12345' })).toBe('code_shape_mismatch');
    expect(reason({ code: 'AB-12X4' })).toBe('code_shape_mismatch');
    expect(reason({ code: 'AB-1234', active: 'yes' })).toBe('active_invalid');
    expect(reason({ code: 'AB-1234', redemption: { quantity: 0 } })).toBe('quantity_invalid');
    expect(reason({ code: 'AB-1234', redemption: { quantity: 1.5 } })).toBe('quantity_invalid');
    expect(reason({ code: 'AB-1234', redemption: { redeemed_quantity: -1 } })).toBe('redeemed_quantity_invalid');
    expect(reason({ code: 'AB-1234', redemption: { quantity: 2, redeemed_quantity: 3 } })).toBe('redeemed_quantity_above_quantity');
    expect(reason({ code: 'AB-1234', start_date: '2026-01-01' })).toBe('date_invalid');
    expect(reason({ code: 'AB-1234', expiration_date: '2026-01-01T00:00:00' })).toBe('date_invalid');
    expect(reason({ code: 'AB-1234', start_date: '2026-02-01T00:00:00Z', expiration_date: '2026-02-01T00:00:00Z' })).toBe(
      'date_range_invalid',
    );
    expect(reason({ code: 'AB-1234', metadata: 'tier' })).toBe('metadata_invalid');
    expect(reason({ code: 'AB-1234', holder: '' })).toBe('holder_invalid');
    expect(reason({ code: 'AB-1234', holder: { email: 'a@example.com' } })).toBe('holder_invalid');
    // What PostgreSQL cannot store refuses the row alone.
    expect(reason({ code: 'AB-1234', metadata: { note: 'a\u0000b' } })).toBe('metadata_invalid');
    expect(reason({ code: 'AB-1234', metadata: { '\ud800': 1 } })).toBe('metadata_invalid');
    expect(reason({ code: 'AB-1234', holder: 'cust\u0000' })).toBe('holder_invalid');
    expect(reason({ code: 'AB-1234', metadata: { deep: JSON.parse(`${'{"a":'.repeat(12)}1${'}'.repeat(12)}`) } })).toBe('metadata_invalid');
  });

  it('explains a shape mismatch by position and template, never with the code', () => {
    expect(shapeMismatch('AB-12', shape)).toBe("is 5 characters long; the campaign's codes are 7 (template AB-####)");
    expect(shapeMismatch('XB-1234', shape)).toBe("character 1 differs from the campaign's template AB-####");
    expect(shapeMismatch('AB-12Z4', shape)).toBe("character 6 is not in the campaign's charset 0123456789");
    expect(shapeMismatch('AB-1234', shape)).toBeNull();
  });

  it('checks a stored CSV chunk with its rows numbered and lined as in the whole file', () => {
    const seen = [
      ...checkedRows(
        { source: 'csv', payload: 'code,metadata.note\n\nAB-0001,"two\nlines"\nAB-0002,\nab-0001,\n', firstRow: 41, firstLine: 90 },
        shape,
      ),
    ];
    expect(seen.map((r) => [r.row, r.line, r.code, 'reason' in r ? r.reason : 'accepted'])).toEqual([
      [41, 90, 'AB-0001', 'accepted'],
      [42, 92, 'AB-0002', 'accepted'],
      [43, 93, 'AB-0001', 'accepted'],
    ]);
  });
});

describe('cutting an upload into chunks', () => {
  it('stores chunks of the chunk size, each its header and its rows as they came, with the first row and line', async () => {
    const rows = Array.from({ length: 11 }, (_, i) => (i === 4 ? `"C-${i}\r\nX",y` : `C-${i},`));
    const text = `code,metadata.note\r\n${rows.join('\r\n')}\r\n`;
    for (const size of [1, 2, 3, 7, 1000]) {
      const stored: { rows: number; firstLine: number | null; payload: string }[] = [];
      const sink: ChunkSink = { size: 4, store: async (n, firstLine, payload) => void stored.push({ rows: n, firstLine, payload }) };
      await storeCsv(Readable.from(cut(text, size)), sink);
      expect(stored.map((c) => [c.rows, c.firstLine])).toEqual([
        [4, 2],
        [4, 6],
        [3, 11],
      ]);
      const seen: [number, number | null, string | null][] = [];
      let firstRow = 1;
      for (const c of stored) {
        // The header line, then the rows (a CRLF cut between pieces may keep its CR only: still one line break).
        expect(c.payload).toMatch(/^code,metadata\.note\r\n?[^\n]/);
        for (const r of checkedRows({ source: 'csv', payload: c.payload, firstRow, firstLine: c.firstLine }, null)) {
          seen.push([r.row, r.line, r.code]);
        }
        firstRow += c.rows;
      }
      expect(seen, `pieces of ${size}`).toEqual(rows.map((_, i) => [i + 1, i <= 4 ? i + 2 : i + 3, i === 4 ? 'C-4\r\nX' : `C-${i}`]));
    }
  });
});
